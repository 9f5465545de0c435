//! The newer value types on a slave: a HyperLogLog (a string in Redis's
//! encoding) and a GEO set (a sorted set of geohashes) are the same bytes
//! and scores on the slave as on its master, and the slave answers their
//! reads.

use super::*;

/// PFADDs reach the slave byte for byte; PFCOUNT runs on the slave (it
/// keeps no count there: that is a write) and gives the master's number;
/// the count the master's PFCOUNT keeps in the value reaches the slave.
#[test]
fn hyperloglogs_are_equal_on_master_and_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    for batch in 0..20 {
        let elements: Vec<String> = (0..batch * 50).map(|i| format!("{batch}:{i}")).collect();
        let _: i64 = redis::cmd("PFADD")
            .arg("visits")
            .arg(&elements)
            .query(&mut m)
            .expect("pfadd");
    }
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let raw = |c: &mut redis::Connection| -> Vec<u8> { c.get("visits").expect("get") };
    let before = raw(&mut m);
    assert_eq!(raw(&mut s), before, "the slave's HLL bytes");
    let on_slave: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut s)
        .expect("pfcount on the slave");
    assert_eq!(raw(&mut s), before, "a PFCOUNT on the slave wrote");
    let on_master: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut m)
        .expect("pfcount");
    assert_eq!(on_slave, on_master);
    let cached = raw(&mut m);
    assert_ne!(cached, before, "the master's PFCOUNT keeps its count");
    wait_synced(&master, &slave, LONG);
    assert_eq!(raw(&mut s), cached);
}
