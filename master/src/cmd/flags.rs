//! The words of the command table: command flags (Redis's, in COMMAND's
//! order, then ours), ACL categories and key-spec flags, each a bit with
//! the name COMMAND shows.

/// Command flags: Redis's, in the order COMMAND shows them, then ours
/// (never shown).
pub mod flag {
    /// Changes data.
    pub const WRITE: u64 = 1;
    /// Only reads data.
    pub const READONLY: u64 = 1 << 1;
    /// May grow memory use (refused when out of memory).
    pub const DENYOOM: u64 = 1 << 2;
    /// A module command (none here).
    pub const MODULE: u64 = 1 << 3;
    /// Administrative: changes or inspects the server, not the data.
    pub const ADMIN: u64 = 1 << 4;
    /// Publish/subscribe.
    pub const PUBSUB: u64 = 1 << 5;
    /// Not allowed from a script.
    pub const NOSCRIPT: u64 = 1 << 6;
    /// May block the client.
    pub const BLOCKING: u64 = 1 << 7;
    /// Allowed while the data is loading (a slave's full copy).
    pub const LOADING: u64 = 1 << 8;
    /// Allowed on a slave whose link is down and that does not serve
    /// stale data.
    pub const STALE: u64 = 1 << 9;
    /// Not shown to MONITOR.
    pub const SKIP_MONITOR: u64 = 1 << 10;
    /// Never entered in the SLOWLOG.
    pub const SKIP_SLOWLOG: u64 = 1 << 11;
    /// Cluster ASKING (none here).
    pub const ASKING: u64 = 1 << 12;
    /// Answered in constant or logarithmic time.
    pub const FAST: u64 = 1 << 13;
    /// Allowed before AUTH.
    pub const NO_AUTH: u64 = 1 << 14;
    /// May be called with no key at all.
    pub const NO_MANDATORY_KEYS: u64 = 1 << 15;
    /// Refused during an asynchronous load.
    pub const NO_ASYNC_LOADING: u64 = 1 << 16;
    /// Refused inside MULTI.
    pub const NO_MULTI: u64 = 1 << 17;
    /// Its keys are not at fixed places (a count, a keyword).
    pub const MOVABLEKEYS: u64 = 1 << 18;
    /// Allowed while a script runs too long.
    pub const ALLOW_BUSY: u64 = 1 << 19;

    /// Ours: it scans committed data, so the write group before it
    /// commits first.
    pub const BARRIER: u64 = 1 << 32;
    /// Ours: it reads one key's metadata (one atomic read, no snapshot).
    pub const SINGLE_READ: u64 = 1 << 33;
    /// Ours: a run of these is answered by one batched lookup (`GET key`).
    pub const BATCHED_GET: u64 = 1 << 34;
    /// Ours: inside MULTI it acts at once instead of being queued.
    pub const AT_ONCE_IN_MULTI: u64 = 1 << 35;
    /// Ours: a subscribed (RESP2) client may call it.
    pub const SUBSCRIBED_OK: u64 = 1 << 36;
    /// Ours: refused inside MULTI, though Redis queues it (its replies
    /// do not fit one EXEC reply, or an EXEC cannot hold it in its unit:
    /// the EVAL family).
    pub const NOT_QUEUED: u64 = 1 << 37;
    /// Ours: allowed while loading, though Redis refuses it (a slave in
    /// the middle of a copy may be re-pointed, or told why it cannot be
    /// promoted).
    pub const OK_LOADING: u64 = 1 << 38;
    /// Ours: its arguments (a password) never reach the SLOWLOG; Redis
    /// redacts them too.
    pub const REDACT: u64 = 1 << 39;
    /// Ours: a read in O(1) or O(log n) whose reply is small (a length,
    /// a score, a TTL, a type, a bit): behind writes in a pipeline it
    /// joins them on the write path (`dispatch::joins_writes`).
    pub const SMALL_READ: u64 = 1 << 40;

    /// Redis's flag words, in COMMAND's order.
    pub const WORDS: &[(u64, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (MODULE, "module"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories, Redis 7's, in its order.
pub mod acl {
    /// `@keyspace`
    pub const KEYSPACE: u32 = 1;
    /// `@read`
    pub const READ: u32 = 1 << 1;
    /// `@write`
    pub const WRITE: u32 = 1 << 2;
    /// `@set`
    pub const SET: u32 = 1 << 3;
    /// `@sortedset`
    pub const SORTEDSET: u32 = 1 << 4;
    /// `@list`
    pub const LIST: u32 = 1 << 5;
    /// `@hash`
    pub const HASH: u32 = 1 << 6;
    /// `@string`
    pub const STRING: u32 = 1 << 7;
    /// `@bitmap`
    pub const BITMAP: u32 = 1 << 8;
    /// `@hyperloglog`
    pub const HYPERLOGLOG: u32 = 1 << 9;
    /// `@geo`
    pub const GEO: u32 = 1 << 10;
    /// `@stream`
    pub const STREAM: u32 = 1 << 11;
    /// `@pubsub`
    pub const PUBSUB: u32 = 1 << 12;
    /// `@admin`
    pub const ADMIN: u32 = 1 << 13;
    /// `@fast`
    pub const FAST: u32 = 1 << 14;
    /// `@slow`
    pub const SLOW: u32 = 1 << 15;
    /// `@blocking`
    pub const BLOCKING: u32 = 1 << 16;
    /// `@dangerous`
    pub const DANGEROUS: u32 = 1 << 17;
    /// `@connection`
    pub const CONNECTION: u32 = 1 << 18;
    /// `@transaction`
    pub const TRANSACTION: u32 = 1 << 19;
    /// `@scripting`
    pub const SCRIPTING: u32 = 1 << 20;

    /// Category names, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Key spec flags, Redis 7's, in its order.
pub mod ks {
    /// Read only.
    pub const RO: u16 = 1;
    /// Read and write.
    pub const RW: u16 = 1 << 1;
    /// Overwrite.
    pub const OW: u16 = 1 << 2;
    /// Remove.
    pub const RM: u16 = 1 << 3;
    /// Returns or copies user data.
    pub const ACCESS: u16 = 1 << 4;
    /// Updates data in place.
    pub const UPDATE: u16 = 1 << 5;
    /// Adds data.
    pub const INSERT: u16 = 1 << 6;
    /// Deletes data.
    pub const DELETE: u16 = 1 << 7;
    /// Not a key (a name in a key's place).
    pub const NOT_KEY: u16 = 1 << 8;
    /// May not find every key.
    pub const INCOMPLETE: u16 = 1 << 9;
    /// The flags depend on the arguments.
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// Flag words, in COMMAND's order.
    pub const WORDS: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}
