//! COMMAND DOCS: each command's group, one-line summary and the Redis version that introduced it.

/// (group, summary, since) of a command by lowercase name; None for an unknown name.
pub fn doc(name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match name {
        // connection
        "ping" => (
            "connection",
            "Checks the connection, replying PONG or echoing an argument.",
            "1.0.0",
        ),
        "echo" => (
            "connection",
            "Replies with the message it was given.",
            "1.0.0",
        ),
        "quit" => (
            "connection",
            "Asks the server to close this connection.",
            "1.0.0",
        ),
        "auth" => (
            "connection",
            "Authenticates the connection with a password or a user and password.",
            "1.0.0",
        ),
        "hello" => (
            "connection",
            "Negotiates the protocol version and authenticates in one step.",
            "6.0.0",
        ),
        "select" => (
            "connection",
            "Switches the connection to another numbered database.",
            "1.0.0",
        ),
        "client" => (
            "connection",
            "Groups the subcommands that inspect and manage client connections.",
            "2.4.0",
        ),
        // server
        "info" => (
            "server",
            "Reports server state and statistics, optionally by section.",
            "1.0.0",
        ),
        "config" => (
            "server",
            "Groups the subcommands that read and change runtime configuration.",
            "2.0.0",
        ),
        "command" => (
            "server",
            "Describes the commands that the server supports.",
            "2.8.13",
        ),
        "time" => (
            "server",
            "Reports the server clock as seconds and microseconds.",
            "2.6.0",
        ),
        "lastsave" => (
            "server",
            "Reports the Unix time of the last successful save to disk.",
            "1.0.0",
        ),
        "save" => (
            "server",
            "Persists the dataset to disk before replying.",
            "1.0.0",
        ),
        "bgsave" => (
            "server",
            "Starts persisting the dataset to disk in the background.",
            "1.0.0",
        ),
        "slaveof" => (
            "server",
            "Makes this server a replica of another one, or a master again.",
            "1.0.0",
        ),
        "replicaof" => (
            "server",
            "Makes this server a replica of another one, or a master again.",
            "5.0.0",
        ),
        "role" => (
            "server",
            "Reports whether this server is a master or a replica, with details.",
            "2.8.12",
        ),
        "wait" => (
            "generic",
            "Blocks until earlier writes reach a number of replicas or a timeout.",
            "3.0.0",
        ),
        "purge" => (
            "server",
            "Deletes binlog files whose entries all precede a given sequence.",
            "1.0.0",
        ),
        "sync140" => (
            "server",
            "Opens a replication session using the SSDB-style SYNC140 handshake.",
            "1.0.0",
        ),
        "shutdown" => (
            "server",
            "Stops the server, optionally saving the dataset first.",
            "1.0.0",
        ),
        "debug" => (
            "server",
            "Groups internal subcommands meant for testing and troubleshooting.",
            "1.0.0",
        ),
        "memory" => (
            "server",
            "Groups the subcommands that report on memory use.",
            "4.0.0",
        ),
        "slowlog" => (
            "server",
            "Groups the subcommands that read and reset the slow query log.",
            "2.2.12",
        ),
        "dbsize" => (
            "server",
            "Counts the keys in the selected database.",
            "1.0.0",
        ),
        "flushall" => ("server", "Deletes every key in every database.", "1.0.0"),
        "flushdb" => (
            "server",
            "Deletes every key in the selected database.",
            "1.0.0",
        ),
        // pubsub
        "subscribe" => (
            "pubsub",
            "Starts listening for messages on the named channels.",
            "2.0.0",
        ),
        "unsubscribe" => (
            "pubsub",
            "Stops listening on the named channels, or on all of them.",
            "2.0.0",
        ),
        "psubscribe" => (
            "pubsub",
            "Starts listening on every channel matching the given patterns.",
            "2.0.0",
        ),
        "punsubscribe" => (
            "pubsub",
            "Stops listening on the given patterns, or on all of them.",
            "2.0.0",
        ),
        "publish" => (
            "pubsub",
            "Sends a message to a channel and reports how many clients got it.",
            "2.0.0",
        ),
        // transactions
        "multi" => (
            "transactions",
            "Begins queuing commands for a transaction.",
            "1.2.0",
        ),
        "exec" => (
            "transactions",
            "Runs every command queued since MULTI.",
            "1.2.0",
        ),
        "discard" => (
            "transactions",
            "Drops the commands queued since MULTI.",
            "2.0.0",
        ),
        "watch" => (
            "transactions",
            "Makes the next transaction fail if any of the keys change.",
            "2.2.0",
        ),
        "unwatch" => (
            "transactions",
            "Forgets every key watched by this connection.",
            "2.2.0",
        ),
        // string
        "get" => ("string", "Returns the string value of a key.", "1.0.0"),
        "set" => (
            "string",
            "Stores a string value, with optional expiry and conditions.",
            "1.0.0",
        ),
        "mget" => (
            "string",
            "Returns the string values of several keys at once.",
            "1.0.0",
        ),
        "mset" => ("string", "Stores several key-value pairs at once.", "1.0.1"),
        "msetnx" => (
            "string",
            "Stores several key-value pairs only if none of the keys exist.",
            "1.0.1",
        ),
        "setnx" => (
            "string",
            "Stores a string value only if the key does not exist.",
            "1.0.0",
        ),
        "setex" => (
            "string",
            "Stores a string value with a lifetime in seconds.",
            "2.0.0",
        ),
        "psetex" => (
            "string",
            "Stores a string value with a lifetime in milliseconds.",
            "2.6.0",
        ),
        "getset" => (
            "string",
            "Stores a new string value and returns the old one.",
            "1.0.0",
        ),
        "getdel" => (
            "string",
            "Returns the string value of a key and deletes the key.",
            "6.2.0",
        ),
        "append" => (
            "string",
            "Adds a string to the end of a key's value.",
            "2.0.0",
        ),
        "strlen" => (
            "string",
            "Returns the byte length of a string value.",
            "2.2.0",
        ),
        "incr" => (
            "string",
            "Adds one to the integer stored at a key.",
            "1.0.0",
        ),
        "decr" => (
            "string",
            "Subtracts one from the integer stored at a key.",
            "1.0.0",
        ),
        "incrby" => (
            "string",
            "Adds an integer amount to the integer stored at a key.",
            "1.0.0",
        ),
        "decrby" => (
            "string",
            "Subtracts an integer amount from the integer stored at a key.",
            "1.0.0",
        ),
        "incrbyfloat" => (
            "string",
            "Adds a floating-point amount to the number stored at a key.",
            "2.6.0",
        ),
        "getrange" => (
            "string",
            "Returns the part of a string between two byte offsets.",
            "2.4.0",
        ),
        "substr" => (
            "string",
            "Returns the part of a string between two byte offsets.",
            "1.0.0",
        ),
        "setrange" => (
            "string",
            "Overwrites part of a string starting at a byte offset.",
            "2.2.0",
        ),
        "getex" => (
            "string",
            "Returns the string value of a key and changes its expiry.",
            "6.2.0",
        ),
        "lcs" => (
            "string",
            "Finds the longest common subsequence of two strings.",
            "7.0.0",
        ),
        // bitmap
        "getbit" => (
            "bitmap",
            "Returns the bit at an offset in a string.",
            "2.2.0",
        ),
        "setbit" => (
            "bitmap",
            "Sets or clears the bit at an offset and returns its old value.",
            "2.2.0",
        ),
        "bitcount" => (
            "bitmap",
            "Counts the set bits in a string, optionally within a range.",
            "2.6.0",
        ),
        "bitop" => (
            "bitmap",
            "Combines strings bitwise and stores the result in a key.",
            "2.6.0",
        ),
        "bitpos" => (
            "bitmap",
            "Finds the first bit set to 0 or 1 in a string.",
            "2.8.7",
        ),
        "bitfield" => (
            "bitmap",
            "Reads, writes and increments integer fields inside a string.",
            "3.2.0",
        ),
        "bitfield_ro" => (
            "bitmap",
            "Reads integer fields inside a string without writing.",
            "6.0.0",
        ),
        // generic
        "del" => ("generic", "Removes one or more keys.", "1.0.0"),
        "unlink" => (
            "generic",
            "Removes keys, reclaiming their memory in the background.",
            "4.0.0",
        ),
        "exists" => (
            "generic",
            "Counts how many of the given keys exist.",
            "1.0.0",
        ),
        "type" => (
            "generic",
            "Names the type of value stored at a key.",
            "1.0.0",
        ),
        "expire" => ("generic", "Gives a key a lifetime in seconds.", "1.0.0"),
        "pexpire" => (
            "generic",
            "Gives a key a lifetime in milliseconds.",
            "2.6.0",
        ),
        "expireat" => (
            "generic",
            "Makes a key expire at a Unix time in seconds.",
            "1.2.0",
        ),
        "pexpireat" => (
            "generic",
            "Makes a key expire at a Unix time in milliseconds.",
            "2.6.0",
        ),
        "ttl" => (
            "generic",
            "Returns a key's remaining lifetime in seconds.",
            "1.0.0",
        ),
        "expiretime" => (
            "generic",
            "Returns the Unix time in seconds at which a key expires.",
            "7.0.0",
        ),
        "pexpiretime" => (
            "generic",
            "Returns the Unix time in milliseconds at which a key expires.",
            "7.0.0",
        ),
        "touch" => (
            "generic",
            "Updates the last access time of keys and counts those that exist.",
            "3.2.1",
        ),
        "pttl" => (
            "generic",
            "Returns a key's remaining lifetime in milliseconds.",
            "2.6.0",
        ),
        "persist" => ("generic", "Removes the expiry from a key.", "2.2.0"),
        "scan" => (
            "generic",
            "Walks the key space incrementally with a cursor.",
            "2.8.0",
        ),
        "keys" => (
            "generic",
            "Lists every key that matches a glob pattern.",
            "1.0.0",
        ),
        "randomkey" => ("generic", "Returns a key picked at random.", "1.0.0"),
        "rename" => (
            "generic",
            "Gives a key a new name, replacing any key already there.",
            "1.0.0",
        ),
        "renamenx" => (
            "generic",
            "Gives a key a new name only if that name is free.",
            "1.0.0",
        ),
        "copy" => (
            "generic",
            "Duplicates the value of a key under another key.",
            "6.2.0",
        ),
        "object" => (
            "generic",
            "Groups the subcommands that inspect how a value is stored.",
            "2.2.3",
        ),
        "sort" => (
            "generic",
            "Sorts a list, set or sorted set, optionally storing the result.",
            "1.0.0",
        ),
        "sort_ro" => (
            "generic",
            "Sorts a list, set or sorted set without storing anything.",
            "7.0.0",
        ),
        // hash
        "hset" => ("hash", "Sets one or more fields of a hash.", "2.0.0"),
        "hmset" => (
            "hash",
            "Sets one or more fields of a hash and replies OK.",
            "2.0.0",
        ),
        "hsetnx" => (
            "hash",
            "Sets a hash field only if it does not exist yet.",
            "2.0.0",
        ),
        "hget" => ("hash", "Returns the value of one hash field.", "2.0.0"),
        "hmget" => (
            "hash",
            "Returns the values of several hash fields.",
            "2.0.0",
        ),
        "hdel" => ("hash", "Removes one or more fields from a hash.", "2.0.0"),
        "hgetall" => ("hash", "Returns every field and value of a hash.", "2.0.0"),
        "hkeys" => ("hash", "Returns every field name of a hash.", "2.0.0"),
        "hvals" => ("hash", "Returns every value of a hash.", "2.0.0"),
        "hlen" => ("hash", "Counts the fields of a hash.", "2.0.0"),
        "hstrlen" => (
            "hash",
            "Returns the byte length of a hash field's value.",
            "3.2.0",
        ),
        "hexists" => ("hash", "Tells whether a hash has a given field.", "2.0.0"),
        "hincrby" => ("hash", "Adds an integer amount to a hash field.", "2.0.0"),
        "hincrbyfloat" => (
            "hash",
            "Adds a floating-point amount to a hash field.",
            "2.6.0",
        ),
        "hscan" => (
            "hash",
            "Walks the fields of a hash incrementally with a cursor.",
            "2.8.0",
        ),
        "hrandfield" => (
            "hash",
            "Returns random fields of a hash, optionally with values.",
            "6.2.0",
        ),
        // set
        "sadd" => ("set", "Adds members to a set.", "1.0.0"),
        "srem" => ("set", "Removes members from a set.", "1.0.0"),
        "smove" => ("set", "Moves a member from one set to another.", "1.0.0"),
        "smembers" => ("set", "Returns every member of a set.", "1.0.0"),
        "sismember" => ("set", "Tells whether a value belongs to a set.", "1.0.0"),
        "smismember" => (
            "set",
            "Tells for each of several values whether it belongs to a set.",
            "6.2.0",
        ),
        "scard" => ("set", "Counts the members of a set.", "1.0.0"),
        "spop" => (
            "set",
            "Removes and returns random members of a set.",
            "1.0.0",
        ),
        "srandmember" => (
            "set",
            "Returns random members of a set without removing them.",
            "1.0.0",
        ),
        "sscan" => (
            "set",
            "Walks the members of a set incrementally with a cursor.",
            "2.8.0",
        ),
        "sinter" => ("set", "Returns the intersection of several sets.", "1.0.0"),
        "sunion" => ("set", "Returns the union of several sets.", "1.0.0"),
        "sdiff" => (
            "set",
            "Returns the members of the first set missing from the others.",
            "1.0.0",
        ),
        "sintercard" => (
            "set",
            "Counts the members of the intersection of several sets.",
            "7.0.0",
        ),
        "sinterstore" => (
            "set",
            "Stores the intersection of several sets in a key.",
            "1.0.0",
        ),
        "sunionstore" => ("set", "Stores the union of several sets in a key.", "1.0.0"),
        "sdiffstore" => (
            "set",
            "Stores the difference of several sets in a key.",
            "1.0.0",
        ),
        // sorted-set
        "zadd" => (
            "sorted-set",
            "Adds members to a sorted set or updates their scores.",
            "1.2.0",
        ),
        "zrem" => ("sorted-set", "Removes members from a sorted set.", "1.2.0"),
        "zscore" => (
            "sorted-set",
            "Returns the score of a sorted set member.",
            "1.2.0",
        ),
        "zmscore" => (
            "sorted-set",
            "Returns the scores of several sorted set members.",
            "6.2.0",
        ),
        "zincrby" => (
            "sorted-set",
            "Adds an amount to the score of a sorted set member.",
            "1.2.0",
        ),
        "zcard" => ("sorted-set", "Counts the members of a sorted set.", "1.2.0"),
        "zcount" => (
            "sorted-set",
            "Counts sorted set members whose scores fall in a range.",
            "2.0.0",
        ),
        "zrange" => (
            "sorted-set",
            "Returns sorted set members by rank, score or lex range.",
            "1.2.0",
        ),
        "zrevrange" => (
            "sorted-set",
            "Returns sorted set members by rank, highest first.",
            "1.2.0",
        ),
        "zrangebyscore" => (
            "sorted-set",
            "Returns sorted set members within a score range.",
            "1.0.5",
        ),
        "zrevrangebyscore" => (
            "sorted-set",
            "Returns members in a score range, highest first.",
            "2.2.0",
        ),
        "zrangebylex" => (
            "sorted-set",
            "Returns sorted set members within a lex range.",
            "2.8.9",
        ),
        "zrevrangebylex" => (
            "sorted-set",
            "Returns members in a lex range, in reverse order.",
            "2.8.9",
        ),
        "zlexcount" => (
            "sorted-set",
            "Counts sorted set members within a lex range.",
            "2.8.9",
        ),
        "zrangestore" => (
            "sorted-set",
            "Stores a range of sorted set members in another key.",
            "6.2.0",
        ),
        "zremrangebyrank" => (
            "sorted-set",
            "Removes sorted set members within a rank range.",
            "2.0.0",
        ),
        "zremrangebyscore" => (
            "sorted-set",
            "Removes sorted set members within a score range.",
            "1.2.0",
        ),
        "zremrangebylex" => (
            "sorted-set",
            "Removes sorted set members within a lex range.",
            "2.8.9",
        ),
        "zunion" => (
            "sorted-set",
            "Returns the union of several sorted sets.",
            "6.2.0",
        ),
        "zinter" => (
            "sorted-set",
            "Returns the intersection of several sorted sets.",
            "6.2.0",
        ),
        "zdiff" => (
            "sorted-set",
            "Returns the difference of several sorted sets.",
            "6.2.0",
        ),
        "zunionstore" => (
            "sorted-set",
            "Stores the union of several sorted sets in a key.",
            "2.0.0",
        ),
        "zinterstore" => (
            "sorted-set",
            "Stores the intersection of several sorted sets in a key.",
            "2.0.0",
        ),
        "zdiffstore" => (
            "sorted-set",
            "Stores the difference of several sorted sets in a key.",
            "6.2.0",
        ),
        "zintercard" => (
            "sorted-set",
            "Counts the members of the intersection of sorted sets.",
            "7.0.0",
        ),
        "zrandmember" => (
            "sorted-set",
            "Returns random members of a sorted set.",
            "6.2.0",
        ),
        "zrank" => (
            "sorted-set",
            "Returns a member's rank in a sorted set, lowest score first.",
            "2.0.0",
        ),
        "zrevrank" => (
            "sorted-set",
            "Returns a member's rank in a sorted set, highest first.",
            "2.0.0",
        ),
        "zpopmin" => (
            "sorted-set",
            "Removes and returns the lowest-scored members.",
            "5.0.0",
        ),
        "zpopmax" => (
            "sorted-set",
            "Removes and returns the highest-scored members.",
            "5.0.0",
        ),
        "zmpop" => (
            "sorted-set",
            "Pops members from the first non-empty sorted set given.",
            "7.0.0",
        ),
        "bzpopmin" => (
            "sorted-set",
            "Pops the lowest-scored member, blocking while all are empty.",
            "5.0.0",
        ),
        "bzpopmax" => (
            "sorted-set",
            "Pops the highest-scored member, blocking while all are empty.",
            "5.0.0",
        ),
        "bzmpop" => (
            "sorted-set",
            "Pops members from the first non-empty sorted set, or blocks.",
            "7.0.0",
        ),
        "zscan" => (
            "sorted-set",
            "Walks a sorted set incrementally with a cursor.",
            "2.8.0",
        ),
        // list
        "lpush" => ("list", "Inserts elements at the head of a list.", "1.0.0"),
        "rpush" => ("list", "Appends elements to the tail of a list.", "1.0.0"),
        "lpushx" => (
            "list",
            "Inserts elements at the head of a list only if it exists.",
            "2.2.0",
        ),
        "rpushx" => (
            "list",
            "Appends elements to the tail of a list only if it exists.",
            "2.2.0",
        ),
        "lpop" => (
            "list",
            "Removes and returns elements from the head of a list.",
            "1.0.0",
        ),
        "rpop" => (
            "list",
            "Removes and returns elements from the tail of a list.",
            "1.0.0",
        ),
        "rpoplpush" => (
            "list",
            "Moves the tail element of one list to the head of another.",
            "1.2.0",
        ),
        "lmove" => (
            "list",
            "Moves an element from one end of a list to an end of another.",
            "6.2.0",
        ),
        "lmpop" => (
            "list",
            "Pops elements from the first non-empty list given.",
            "7.0.0",
        ),
        "blpop" => (
            "list",
            "Pops the head of the first non-empty list, or blocks.",
            "2.0.0",
        ),
        "brpop" => (
            "list",
            "Pops the tail of the first non-empty list, or blocks.",
            "2.0.0",
        ),
        "blmove" => (
            "list",
            "Moves an element between lists, blocking while the source is empty.",
            "6.2.0",
        ),
        "brpoplpush" => (
            "list",
            "Moves a tail element to another list's head, or blocks.",
            "2.2.0",
        ),
        "blmpop" => (
            "list",
            "Pops elements from the first non-empty list, or blocks.",
            "7.0.0",
        ),
        "llen" => ("list", "Returns the length of a list.", "1.0.0"),
        "lrange" => (
            "list",
            "Returns the elements of a list between two indexes.",
            "1.0.0",
        ),
        "lindex" => ("list", "Returns the list element at an index.", "1.0.0"),
        "lset" => ("list", "Replaces the list element at an index.", "1.0.0"),
        "ltrim" => (
            "list",
            "Keeps only the elements of a list between two indexes.",
            "1.0.0",
        ),
        "lrem" => (
            "list",
            "Removes elements equal to a value from a list.",
            "1.0.0",
        ),
        "linsert" => (
            "list",
            "Inserts an element before or after a pivot element.",
            "2.2.0",
        ),
        "lpos" => (
            "list",
            "Returns the indexes of elements equal to a value.",
            "6.0.6",
        ),
        _ => return None,
    })
}
