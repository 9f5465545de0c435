//! The fuzz's generators: a seeded random sequence, commands shaped by
//! the server's own COMMAND reply, their RESP and inline encodings, and
//! byte-level mutations of them.

use redis::Value;

use super::words::*;

/// A seeded xorshift64* generator.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(splitmix(seed) | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `0..n` (`n` > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// [`Rng::pick`] for a list of strings: the string itself.
    pub(super) fn pick_str(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
    }
}

pub(super) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A command as COMMAND describes it (a subcommand: its name after `|`).
#[derive(Debug)]
pub(super) struct Shape {
    name: String,
    arity: i64,
    first_key: i64,
    last_key: i64,
    step: i64,
    blocking: bool,
    subs: Vec<Shape>,
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
    }
}

pub(super) fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        _ => 0,
    }
}

pub(super) fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

pub(super) fn shape(v: &Value) -> Option<Shape> {
    let a = items(v);
    if a.len() < 6 {
        return None;
    }
    let full = text(&a[0]).to_lowercase();
    let name = full.rsplit('|').next().unwrap_or(&full).to_owned();
    Some(Shape {
        name,
        arity: int(&a[1]),
        first_key: int(&a[3]),
        last_key: int(&a[4]),
        step: int(&a[5]),
        blocking: items(&a[2]).iter().any(|f| text(f) == "blocking"),
        subs: a
            .get(9)
            .map(|s| items(s).iter().filter_map(shape).collect())
            .unwrap_or_default(),
    })
}

/// What the generators draw from: the server's commands (those sent)
/// and the SHA1s of [`SCRIPTS`].
pub(super) struct Table {
    cmds: Vec<Shape>,
    shas: Vec<String>,
}

impl Table {
    /// Read from the server, and load [`SCRIPTS`] and the first library.
    pub(super) fn read(c: &mut redis::Connection) -> Self {
        let all: Value = redis::cmd("COMMAND").query(c).expect("COMMAND");
        let cmds: Vec<Shape> = items(&all)
            .iter()
            .filter_map(shape)
            .filter(|s| !LEFT_OUT.contains(&s.name.as_str()))
            .filter(|s| !s.blocking || BLOCKING.contains(&s.name.as_str()))
            .collect();
        assert!(cmds.len() > 100, "COMMAND lists {} commands", cmds.len());
        let shas = SCRIPTS
            .iter()
            .filter_map(|s| {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(*s)
                    .query::<String>(c)
                    .ok()
            })
            .collect();
        let _: String = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(LIBRARIES[0])
            .query(c)
            .expect("FUNCTION LOAD");
        Self { cmds, shas }
    }
}

pub(super) type Cmd = Vec<Vec<u8>>;

pub(super) fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// `name` in upper, lower or mixed case.
pub(super) fn cased(rng: &mut Rng, name: &str) -> Vec<u8> {
    match rng.below(10) {
        0..=6 => name.to_ascii_uppercase().into_bytes(),
        7 | 8 => b(name),
        _ => name
            .bytes()
            .map(|c| {
                if rng.one_in(2) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
    }
}

pub(super) fn key(rng: &mut Rng) -> Vec<u8> {
    if rng.one_in(60) {
        return Vec::new();
    }
    b(rng.pick_str(KEYS))
}

pub(super) fn bytes_of(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next() as u8).collect()
}

/// Any argument: a key, a number, a keyword, a word, binary, empty, long.
pub(super) fn arg(rng: &mut Rng) -> Vec<u8> {
    match rng.below(100) {
        0..=24 => key(rng),
        25..=49 => b(rng.pick_str(NUMBERS)),
        50..=67 => {
            let k = rng.pick_str(KEYWORDS);
            cased(rng, k)
        }
        68..=81 => b(rng.pick_str(WORDS)),
        82..=89 => {
            let len = rng.below(24);
            bytes_of(rng, len)
        }
        90..=92 => Vec::new(),
        93..=94 => {
            let len = 100 + rng.below(1400);
            if rng.one_in(2) {
                vec![b'x'; len]
            } else {
                bytes_of(rng, len)
            }
        }
        95..=97 => rng.next().to_string().into_bytes(),
        _ => format!("{}", f64::from_bits(rng.next())).into_bytes(),
    }
}

/// An argument for a script: one of [`SCRIPT_ARGS`], a deep nesting
/// (JSON or msgpack), or any argument.
pub(super) fn script_arg(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0..=8 => b(rng.pick_str(SCRIPT_ARGS)),
        9 => {
            let depth = *rng.pick(&[100usize, 1000, 100_000]);
            let mut s = "[".repeat(depth);
            if rng.one_in(2) {
                s.push_str(&"]".repeat(depth));
            }
            s.into_bytes()
        }
        10 => {
            // msgpack: arrays of one, nested, around a 1.
            let depth = *rng.pick(&[100usize, 1000, 100_000]);
            let mut v = vec![0x91u8; depth];
            v.push(1);
            v
        }
        _ => arg(rng),
    }
}

pub(super) fn timeout(rng: &mut Rng) -> Vec<u8> {
    b(rng.pick_str(TIMEOUTS))
}

pub(super) fn side(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 | 1 => b("LEFT"),
        2 | 3 => b("RIGHT"),
        _ => arg(rng),
    }
}

/// A count argument that is usually `n`.
pub(super) fn count_of(rng: &mut Rng, n: usize) -> Vec<u8> {
    if rng.one_in(6) {
        arg(rng)
    } else {
        n.to_string().into_bytes()
    }
}

/// `numkeys key... arg...` for EVAL and FCALL.
pub(super) fn script_tail(rng: &mut Rng, a: &mut Cmd) {
    let n = rng.below(3);
    a.push(count_of(rng, n));
    for _ in 0..n {
        a.push(key(rng));
    }
    for _ in 0..rng.below(4) {
        a.push(script_arg(rng));
    }
}

/// CLIENT with a subcommand that leaves other clients alone.
pub(super) fn client(rng: &mut Rng, a: &mut Cmd) {
    let pick = |rng: &mut Rng, xs: &[&'static str]| b(rng.pick_str(xs));
    match rng.below(13) {
        0 => a.push(b("ID")),
        1 => a.push(b("GETNAME")),
        2 => {
            a.push(b("SETNAME"));
            a.push(arg(rng));
        }
        3 => a.push(b("INFO")),
        4 => {
            a.push(b("LIST"));
            if rng.one_in(2) {
                a.push(pick(rng, &["TYPE", "ID", "USER"]));
                a.push(arg(rng));
            }
        }
        5 => {
            a.push(b("TRACKING"));
            a.push(pick(rng, &["ON", "OFF", "on", "maybe"]));
            for _ in 0..rng.below(4) {
                a.push(pick(
                    rng,
                    &["BCAST", "PREFIX", "OPTIN", "OPTOUT", "NOLOOP", "REDIRECT"],
                ));
                a.push(arg(rng));
            }
        }
        6 => a.push(b("TRACKINGINFO")),
        7 => a.push(b("GETREDIR")),
        8 => {
            a.push(b("CACHING"));
            a.push(pick(rng, &["YES", "NO", "x"]));
        }
        9 => {
            a.push(b("SETINFO"));
            a.push(pick(rng, &["LIB-NAME", "LIB-VER", "x"]));
            a.push(arg(rng));
        }
        10 => a.push(b("HELP")),
        11 => {
            a.push(b("UNBLOCK"));
            a.push(arg(rng));
            if rng.one_in(2) {
                a.push(pick(rng, &["TIMEOUT", "ERROR", "x"]));
            }
        }
        _ => {
            a.push(pick(rng, &["NO-EVICT", "NO-TOUCH", "NOSUCH", ""]));
            a.push(arg(rng));
        }
    }
}

/// Arguments past the name (and subcommand: `fixed` 2) for `arity`:
/// usually what it takes, sometimes any count.
pub(super) fn arg_count(rng: &mut Rng, arity: i64, fixed: i64) -> usize {
    let min = usize::try_from((arity.abs() - fixed).max(0)).expect("small");
    if rng.one_in(8) {
        rng.below(min + 3)
    } else if arity >= 0 {
        min
    } else {
        min + rng.below(6)
    }
}

/// Whether argument `pos` (the name is 0) of a `total`-argument command
/// is a key by `s`'s first key, last key and step.
pub(super) fn key_at(s: &Shape, pos: usize, total: usize) -> bool {
    let (pos, total) = (pos as i64, total as i64);
    if s.first_key <= 0 || s.step <= 0 {
        return false;
    }
    let last = if s.last_key < 0 {
        total + s.last_key
    } else {
        s.last_key
    };
    pos >= s.first_key && pos <= last && (pos - s.first_key) % s.step == 0
}

/// A command from COMMAND's shape: a subcommand if it has any, the
/// arity's count of arguments, keys where its key positions are.
pub(super) fn generic(rng: &mut Rng, s: &Shape, a: &mut Cmd) {
    let (shape, fixed) = if !s.subs.is_empty() && !rng.one_in(10) {
        let sub = rng.pick(&s.subs);
        a.push(cased(rng, &sub.name));
        (sub, 2)
    } else {
        (s, 1)
    };
    let n = arg_count(rng, shape.arity, fixed).min(40);
    let total = a.len() + n;
    for _ in 0..n {
        let pos = a.len();
        a.push(if key_at(shape, pos, total) && !rng.one_in(8) {
            key(rng)
        } else {
            arg(rng)
        });
    }
}

/// One command, all its arguments (the name first).
pub(super) fn command(rng: &mut Rng, t: &Table) -> Cmd {
    if rng.one_in(80) {
        // A name no table has.
        let mut a = vec![arg(rng)];
        for _ in 0..rng.below(4) {
            a.push(arg(rng));
        }
        return a;
    }
    let mut s = rng.pick(&t.cmds);
    if RARE.contains(&s.name.as_str()) && !rng.one_in(10) {
        s = rng.pick(&t.cmds);
    }
    let name = s.name.as_str();
    let mut a = vec![cased(rng, name)];
    match name {
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            for _ in 0..1 + rng.below(3) {
                a.push(key(rng));
            }
            a.push(timeout(rng));
        }
        "brpoplpush" => {
            a.extend([key(rng), key(rng), timeout(rng)]);
        }
        "blmove" => {
            a.extend([key(rng), key(rng), side(rng), side(rng), timeout(rng)]);
        }
        "blmpop" | "bzmpop" => {
            a.push(timeout(rng));
            let n = 1 + rng.below(3);
            a.push(count_of(rng, n));
            for _ in 0..n {
                a.push(key(rng));
            }
            a.push(match (name, rng.below(5)) {
                (_, 4) => arg(rng),
                ("blmpop", 0 | 1) => b("LEFT"),
                ("blmpop", _) => b("RIGHT"),
                (_, 0 | 1) => b("MIN"),
                _ => b("MAX"),
            });
            if rng.one_in(2) {
                a.push(b("COUNT"));
                a.push(arg(rng));
            }
        }
        "xread" | "xreadgroup" => {
            if name == "xreadgroup" {
                a.extend([b("GROUP"), arg(rng), arg(rng)]);
            }
            if rng.one_in(2) {
                a.extend([b("COUNT"), arg(rng)]);
            }
            if rng.one_in(2) {
                a.extend([b("BLOCK"), b(rng.pick_str(BLOCK_MS))]);
            }
            if name == "xreadgroup" && rng.one_in(3) {
                a.push(b("NOACK"));
            }
            a.push(b("STREAMS"));
            let n = 1 + rng.below(2);
            for _ in 0..n {
                a.push(key(rng));
            }
            for _ in 0..n + usize::from(rng.one_in(8)) {
                a.push(b(rng.pick_str(&["0", "$", ">", "0-0", "1-1", "+", "x"])));
            }
        }
        "wait" => {
            a.push(arg(rng));
            a.push(b(rng.pick_str(BLOCK_MS)));
        }
        "eval" | "eval_ro" => {
            a.push(if rng.one_in(12) {
                arg(rng)
            } else {
                b(rng.pick_str(SCRIPTS))
            });
            script_tail(rng, &mut a);
        }
        "evalsha" | "evalsha_ro" => {
            a.push(match (rng.below(8), t.shas.is_empty()) {
                (0, _) | (_, true) => arg(rng),
                _ => rng.pick(&t.shas).clone().into_bytes(),
            });
            script_tail(rng, &mut a);
        }
        "fcall" | "fcall_ro" => {
            a.push(b(rng.pick_str(FUNCTIONS)));
            script_tail(rng, &mut a);
        }
        "function" if rng.one_in(3) => {
            a.push(b("LOAD"));
            if rng.one_in(2) {
                a.push(b("REPLACE"));
            }
            a.push(b(rng.pick_str(LIBRARIES)));
        }
        "hello" => {
            let args = rng.pick(HELLOS);
            a.extend(args.iter().map(|s| b(s)));
        }
        "client" => client(rng, &mut a),
        _ => generic(rng, s, &mut a),
    }
    a
}

/// MULTI, a few commands, and most often EXEC or DISCARD.
pub(super) fn transaction(rng: &mut Rng, t: &Table) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    if rng.one_in(3) {
        cmds.push(vec![b("WATCH"), key(rng)]);
    }
    cmds.push(vec![b("MULTI")]);
    for _ in 0..1 + rng.below(4) {
        cmds.push(command(rng, t));
    }
    match rng.below(10) {
        0..=6 => cmds.push(vec![b("EXEC")]),
        7 | 8 => cmds.push(vec![b("DISCARD")]),
        _ => {}
    }
    cmds
}

pub(super) fn encode_resp(cmd: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", cmd.len()).as_bytes());
    for a in cmd {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One inline line (no CR or LF inside, no `*` first, short enough);
/// true when it holds a quote, which may make it a protocol error.
pub(super) fn encode_inline(cmd: &[Vec<u8>], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    for (i, a) in cmd.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend(a.iter().take(512).map(|&c| match c {
            b'\r' | b'\n' => b'_',
            c => c,
        }));
    }
    if out.get(start) == Some(&b'*') {
        out[start] = b'_';
    }
    let quoted = out[start..].iter().any(|&c| c == b'"' || c == b'\'');
    out.extend_from_slice(b"\r\n");
    quoted
}

/// A stream: a few commands (or a transaction), as RESP or inline, into
/// `out`; true when it may close its connection (QUIT, a quote inline).
pub(super) fn stream(rng: &mut Rng, t: &Table, inline: bool, out: &mut Vec<u8>) -> bool {
    let cmds = if rng.one_in(15) {
        transaction(rng, t)
    } else {
        (0..1 + rng.below(4)).map(|_| command(rng, t)).collect()
    };
    let mut may_close = false;
    for c in &cmds {
        may_close |= c[0].eq_ignore_ascii_case(b"quit");
        if inline {
            may_close |= encode_inline(c, out);
        } else {
            encode_resp(c, out);
        }
    }
    may_close
}

/// A position in `v` at the start of a line (or anywhere).
pub(super) fn line_start(rng: &mut Rng, v: &[u8]) -> usize {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            v.iter()
                .enumerate()
                .filter(|(_, &c)| c == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    if rng.one_in(4) {
        rng.below(v.len() + 1)
    } else {
        *rng.pick(&starts)
    }
}

/// `base`, mutated one to three times at the byte level.
pub(super) fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = v.len();
        match rng.below(11) {
            // A flipped bit, or a byte replaced.
            0 | 1 if len > 0 => {
                let i = rng.below(len);
                if rng.one_in(2) {
                    v[i] ^= 1 << rng.below(8);
                } else {
                    v[i] = rng.next() as u8;
                }
            }
            // Cut short.
            2 => v.truncate(rng.below(len + 1)),
            // A slice repeated.
            3 if len > 0 => {
                let i = rng.below(len);
                let j = i + rng.below(len - i) + 1;
                let part = v[i..j].to_vec();
                v.splice(j..j, part);
            }
            // A bogus count or length line inserted.
            4 => {
                let at = line_start(rng, &v);
                let line = format!("{}{}\r\n", rng.pick(&['*', '$']), rng.pick(BOGUS_LENGTHS));
                v.splice(at..at, line.into_bytes());
            }
            // A count or length line's number replaced.
            5 => {
                let heads: Vec<usize> = (0..len)
                    .filter(|&i| (i == 0 || v[i - 1] == b'\n') && matches!(v[i], b'*' | b'$'))
                    .collect();
                if !heads.is_empty() {
                    let at = *rng.pick(&heads) + 1;
                    let end = v[at..]
                        .iter()
                        .position(|&c| c == b'\r')
                        .map_or(len, |p| at + p);
                    v.splice(at..end, b(rng.pick_str(BOGUS_LENGTHS)));
                }
            }
            // A CR or an LF lost.
            6 => {
                let ends: Vec<usize> = (0..len)
                    .filter(|&i| matches!(v[i], b'\r' | b'\n'))
                    .collect();
                if !ends.is_empty() {
                    v.remove(*rng.pick(&ends));
                }
            }
            // Random bytes inserted.
            7 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let junk = bytes_of(rng, n);
                v.splice(at..at, junk);
            }
            // A slice deleted.
            8 if len > 0 => {
                let i = rng.below(len);
                let j = i + rng.below(len - i) + 1;
                v.drain(i..j);
            }
            // Bare LFs (or bare CRs) for CRLFs.
            9 => {
                let cr = rng.one_in(2);
                let mut out = Vec::with_capacity(len);
                let mut i = 0;
                while i < len {
                    if v[i] == b'\r' && v.get(i + 1) == Some(&b'\n') {
                        out.push(if cr { b'\r' } else { b'\n' });
                        i += 2;
                    } else {
                        out.push(v[i]);
                        i += 1;
                    }
                }
                v = out;
            }
            // A line past the inline limit, never ended.
            10 if rng.one_in(20) => v.extend_from_slice(&[b'a'; 70_000]),
            _ => {}
        }
    }
    let lower = v.to_ascii_lowercase();
    let has = |w: &str| lower.windows(w.len()).any(|x| x == w.as_bytes());
    let forbidden = NEVER_MUTATED_INTO.iter().any(|w| has(w))
        || (has("client") && ["kill", "pause", "reply"].iter().any(|w| has(w)));
    if forbidden {
        return base.to_vec();
    }
    v
}
