//! Long strings kept in chunks (issue 27): APPEND, SETRANGE, SETBIT and
//! BITFIELD change the chunks they touch, and every reader (GET,
//! GETRANGE, STRLEN, GETBIT, BITCOUNT, DUMP, a slave, a replay after a crash, a
//! full copy) sees the string Redis would hold.

use super::*;

/// A model of a Redis string under the changes below.
struct Model {
    bytes: Vec<u8>,
}

impl Model {
    fn pad(&mut self, len: usize) {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
    }
    fn bit(&self, off: usize) -> u64 {
        self.bytes
            .get(off / 8)
            .map_or(0, |b| u64::from((b >> (7 - off % 8)) & 1))
    }
    fn bits(&self, off: usize, n: usize) -> u64 {
        (0..n).fold(0, |v, i| (v << 1) | self.bit(off + i))
    }
    fn set_bits(&mut self, off: usize, n: usize, v: u64) {
        self.pad((off + n).div_ceil(8));
        for i in 0..n {
            let (at, mask) = ((off + i) / 8, 1u8 << (7 - (off + i) % 8));
            if (v >> (n - 1 - i)) & 1 == 1 {
                self.bytes[at] |= mask;
            } else {
                self.bytes[at] &= !mask;
            }
        }
    }
}

/// A small deterministic generator (the test needs no crate for it).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.below(256) as u8).collect()
    }
}

/// Random changes of every shape to a long string: in place, across its
/// end, far past it (zero padding), bit by bit and by BITFIELD (reads and
/// writes in one call), checked reply by reply against the model; and a
/// short string grown past the chunked length by APPEND. The master, its
/// slave, the master after SIGKILL (its binlog replayed) and a slave made
/// by a full copy afterwards all hold the model's bytes; so do copies by
/// DUMP/RESTORE and RENAME.
#[test]
fn long_strings_change_in_place_and_equal_a_model_everywhere() {
    let tmp = TempDir::new().expect("tmp");
    let mut master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    let mut rng = Lcg(27);
    let mut model = Model {
        bytes: rng.bytes(40_000),
    };
    let _: () = m.set("s", &model.bytes).expect("set");
    for round in 0..1500 {
        let len = model.bytes.len();
        match rng.below(6) {
            0 => {
                let n = 1 + rng.below(300);
                let v = rng.bytes(n);
                let n: usize = m.append("s", &v).expect("append");
                model.bytes.extend_from_slice(&v);
                assert_eq!(n, model.bytes.len(), "APPEND, round {round}");
            }
            1 => {
                let off = rng.below(len + 10_000);
                let n = 1 + rng.below(9_000);
                let v = rng.bytes(n);
                let n: usize = m.setrange("s", off as isize, &v).expect("setrange");
                model.pad(off + v.len());
                model.bytes[off..off + v.len()].copy_from_slice(&v);
                assert_eq!(n, model.bytes.len(), "SETRANGE, round {round}");
            }
            2 => {
                let off = rng.below(len * 8 + 5_000);
                let bit = rng.below(2) == 1;
                let was: u64 = m.setbit("s", off, bit).expect("setbit");
                assert_eq!(was, model.bit(off), "SETBIT, round {round}");
                model.set_bits(off, 1, u64::from(bit));
            }
            3 => {
                let (at, get_at) = (rng.below(len * 8 + 3_000), rng.below(len * 8 + 3_000));
                let v = rng.below(256) as u64;
                let got: Vec<u64> = redis::cmd("BITFIELD")
                    .arg("s")
                    .arg(&["GET", "u8"])
                    .arg(get_at)
                    .arg(&["SET", "u8"])
                    .arg(at)
                    .arg(v)
                    .arg(&["INCRBY", "u5"])
                    .arg(get_at)
                    .arg(3)
                    .query(&mut m)
                    .expect("bitfield");
                let read = model.bits(get_at, 8);
                let old = model.bits(at, 8);
                model.set_bits(at, 8, v);
                let incr = (model.bits(get_at, 5) + 3) % 32;
                model.set_bits(get_at, 5, incr);
                assert_eq!(got, vec![read, old, incr], "BITFIELD, round {round}");
            }
            4 => {
                let start = rng.below(len);
                let end = start + rng.below(10_000);
                let got: Vec<u8> = m
                    .getrange("s", start as isize, end as isize)
                    .expect("getrange");
                assert!(
                    got == model.bytes[start..(end + 1).min(len)],
                    "GETRANGE, round {round}"
                );
            }
            _ => {
                let n: usize = m.strlen("s").expect("strlen");
                assert_eq!(n, len, "STRLEN, round {round}");
                let off = rng.below(len * 8 + 100);
                let bit: u64 = m.getbit("s", off).expect("getbit");
                assert_eq!(bit, model.bit(off), "GETBIT, round {round}");
                let start = rng.below(len);
                let end = start + rng.below(20_000);
                let ones: u64 = redis::cmd("BITCOUNT")
                    .arg("s")
                    .arg(start)
                    .arg(end)
                    .query(&mut m)
                    .expect("bitcount");
                let want: u64 = model.bytes[start..(end + 1).min(len)]
                    .iter()
                    .map(|b| u64::from(b.count_ones()))
                    .sum();
                assert_eq!(ones, want, "BITCOUNT, round {round}");
            }
        }
    }
    let long = model.bytes.clone();
    assert!(long.len() > 100_000, "{} bytes", long.len());
    // Shortened, then grown back past the chunked length.
    let _: () = m.set("grown", "short").expect("set");
    let mut grown = b"short".to_vec();
    for _ in 0..40 {
        let v = rng.bytes(1000);
        let _: usize = m.append("grown", &v).expect("append");
        grown.extend_from_slice(&v);
    }
    // Copies: DUMP/RESTORE, RENAME, and a long string deleted.
    let dump: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut m).expect("dump");
    let _: () = redis::cmd("RESTORE")
        .arg("restored")
        .arg(0)
        .arg(dump)
        .query(&mut m)
        .expect("restore");
    let _: () = m.rename("restored", "renamed").expect("rename");
    let _: () = m.set("doomed", &long).expect("set");
    let _: usize = m.del("doomed").expect("del");
    let _: () = m.expire("s", 3600).expect("expire");
    let check = |c: &mut redis::Connection, who: &str| {
        for (key, want) in [("s", &long), ("renamed", &long), ("grown", &grown)] {
            let got: Vec<u8> = c.get(key).expect("get");
            assert!(
                got == *want,
                "{key} on {who}: {} bytes, want {}",
                got.len(),
                want.len()
            );
        }
        let ttl: i64 = c.ttl("s").expect("ttl");
        assert!(ttl > 3000, "the TTL on {who}: {ttl}");
        let gone: bool = c.exists("doomed").expect("exists");
        assert!(!gone, "doomed on {who}");
    };
    check(&mut m, "the master");
    wait_synced(&master, &slave, LONG);
    check(&mut slave.client(), "the slave");
    // SIGKILL: what RocksDB had not flushed is replayed from the binlog.
    let data = master.data.clone();
    let port = master.addr.port();
    master.kill();
    master = Node::master(&data, port, &[]);
    check(&mut master.client(), "the master after a crash");
    let fresh = Node::slave(&tmp.path().join("fresh"), 0, master.addr, &[]);
    wait_synced(&master, &fresh, LONG);
    check(&mut fresh.client(), "a slave made by a full copy");
    assert_eq!(digest(&master), digest(&fresh));
}
