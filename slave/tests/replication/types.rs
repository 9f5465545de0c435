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

    // An HLL expired on the slave whose master's delete never came (the
    // master is gone): PFCOUNT reads it as gone, and writes nothing a
    // slave could not commit.
    let _: i64 = redis::cmd("PFADD")
        .arg("brief")
        .arg("x")
        .query(&mut m)
        .expect("pfadd");
    let _: i64 = redis::cmd("PEXPIRE")
        .arg("brief")
        .arg(300)
        .query(&mut m)
        .expect("pexpire");
    wait_synced(&master, &slave, LONG);
    drop(m);
    master.kill();
    std::thread::sleep(Duration::from_millis(400));
    let gone: i64 = redis::cmd("PFCOUNT")
        .arg("brief")
        .query(&mut s)
        .expect("pfcount of an expired hll on the slave");
    assert_eq!(gone, 0);
    let still: i64 = redis::cmd("PFCOUNT")
        .arg("visits")
        .query(&mut s)
        .expect("pfcount");
    assert_eq!(still, on_master);
}

/// GEOADD's scores and a GEOSEARCHSTORE's result reach the slave, which
/// answers GEOSEARCH as its master does.
#[test]
fn geo_sets_are_equal_on_master_and_slave() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    let mut m = master.client();
    for i in 0..500 {
        let (lon, lat) = (
            2.0 + f64::from(i % 50) * 0.01,
            48.5 + f64::from(i / 50) * 0.05,
        );
        let _: i64 = redis::cmd("GEOADD")
            .arg("places")
            .arg(lon)
            .arg(lat)
            .arg(format!("p{i}"))
            .query(&mut m)
            .expect("geoadd");
    }
    let stored: i64 = redis::cmd("GEOSEARCHSTORE")
        .arg("near")
        .arg("places")
        .arg("FROMLONLAT")
        .arg(2.2)
        .arg(48.7)
        .arg("BYRADIUS")
        .arg(10)
        .arg("km")
        .arg("STOREDIST")
        .query(&mut m)
        .expect("geosearchstore");
    assert!(stored > 10, "{stored}");
    wait_synced(&master, &slave, LONG);
    let mut s = slave.client();
    let search = |c: &mut redis::Connection| -> redis::Value {
        redis::cmd("GEOSEARCH")
            .arg("places")
            .arg("FROMMEMBER")
            .arg("p123")
            .arg("BYBOX")
            .arg(20)
            .arg(15)
            .arg("km")
            .arg("WITHDIST")
            .arg("WITHCOORD")
            .query(c)
            .expect("geosearch")
    };
    assert_eq!(search(&mut s), search(&mut m));
    let near = |c: &mut redis::Connection| -> Vec<(String, f64)> {
        c.zrange_withscores("near", 0, -1).expect("zrange")
    };
    assert_eq!(near(&mut s), near(&mut m));
    assert_eq!(near(&mut m).len() as i64, stored);
}
