//! Sync sessions as Redis shows replicas, and the replica settings
//! (issue 25): a session is a client (CLIENT LIST flag S, `cmd=sync140`,
//! counted against maxclients, ended by CLIENT KILL TYPE replica, apart
//! from `connected_clients`); `replica-announce-ip`/`-port` name the slave
//! to its master; `replica-serve-stale-data no` answers as redis-server's
//! replica does while the link is down.

use super::*;

#[test]
fn a_sync_session_is_a_replica_client() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &["--maxclients", "3"]);
    let _: () = master.client().set("before", "1").expect("set");
    let slave = Node::slave(&tmp.path().join("s"), 0, master.addr, &[]);
    wait_synced(&master, &slave, LONG);
    // One connection for every question (maxclients is small here).
    let mut c = master.client();
    let info = |c: &mut redis::Connection, key: &str| -> Option<u64> {
        let text: String = redis::cmd("INFO").arg("clients").query(c).expect("info");
        field(&text, key).and_then(|v| v.parse().ok())
    };
    // Apart from the clients in INFO, as Redis counts them.
    wait_until("the closed clients to be gone", LONG, || {
        info(&mut c, "connected_clients") == Some(1)
    });
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut c)
        .expect("list");
    let replicas: Vec<&str> = list.lines().filter(|l| l.contains(" flags=S ")).collect();
    assert_eq!(replicas.len(), 1, "{list}");
    assert!(replicas[0].contains(" cmd=sync140 "), "{list}");
    let typed: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut c)
        .expect("client list type replica");
    assert_eq!(typed.lines().count(), 1, "{typed}");

    // It counts against maxclients (3): the session, `c`, one more.
    let mut other = master.client();
    let _: String = redis::cmd("PING").query(&mut other).expect("third client");
    let refused = redis::Client::open(format!("redis://{}/", master.addr))
        .and_then(|cl| cl.get_connection_with_timeout(Duration::from_secs(5)))
        .and_then(|mut x| redis::cmd("PING").query::<String>(&mut x));
    let e = refused.expect_err("a fourth client").to_string();
    assert!(e.contains("max number of clients reached"), "{e}");
    drop(other);

    // CLIENT KILL TYPE replica ends the session; the slave comes back by
    // resuming from its binlog.
    let resumes = slave.num("replication", "binlog_resumes");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut c)
        .expect("client kill");
    assert_eq!(killed, 1);
    wait_until("the slave to resume", LONG, || {
        slave.num("replication", "binlog_resumes") > resumes
    });
    let _: () = c.set("after", "kill").expect("set");
    drop(c);
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
}

#[test]
fn a_slave_announces_the_address_it_is_given() {
    let tmp = TempDir::new().expect("tmp");
    let master = Node::master(&tmp.path().join("m"), 0, &[]);
    let slave = Node::slave(
        &tmp.path().join("s"),
        0,
        master.addr,
        &[
            "--replica-announce-ip",
            "10.1.2.3",
            "--replica-announce-port",
            "7777",
        ],
    );
    wait_synced(&master, &slave, LONG);
    let line = master.field("replication", "slave0").expect("slave0");
    assert!(line.starts_with("ip=10.1.2.3,port=7777,"), "{line}");
    // Changed at runtime (Redis's older name), taken at the next connection.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slave-announce-ip")
        .arg("10.9.9.9")
        .query(&mut slave.client())
        .expect("config set");
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut master.client())
        .expect("client kill");
    wait_until("the slave to announce its new address", LONG, || {
        master
            .field("replication", "slave0")
            .is_some_and(|l| l.starts_with("ip=10.9.9.9,port=7777,"))
    });
}

/// One reply as its RESP bytes.
fn raw(port: u16, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(out.as_bytes()).expect("send");
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).expect("reply");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn a_slave_cut_from_its_master_serves_stale_data_as_redis_says() {
    let tmp = TempDir::new().expect("tmp");
    // Both follow a master that is not there: their links never come up.
    let nobody = free_port();
    let ours = Node::slave(
        &tmp.path().join("s"),
        0,
        format!("127.0.0.1:{nobody}").parse().expect("addr"),
        &["--replica-serve-stale-data", "no"],
    );
    let theirs = Redis::start(&[
        "--replicaof",
        "127.0.0.1",
        &nobody.to_string(),
        "--replica-serve-stale-data",
        "no",
    ]);
    let cases: &[&[&str]] = &[
        &["GET", "k"],
        &["SET", "k", "v"],
        &["PING"],
        &["EXISTS", "k"],
        &["CONFIG", "GET", "replica-serve-stale-data"],
        &["CONFIG", "GET", "slave-serve-stale-data"],
        &["ROLE"],
        &["CONFIG", "SET", "replica-serve-stale-data", "yes"],
        &["GET", "k"],
        &["PING"],
        &["CONFIG", "SET", "slave-serve-stale-data", "no"],
        &["DBSIZE"],
    ];
    for args in cases {
        let (a, b) = (raw(theirs.port, args), raw(ours.addr.port(), args));
        if args[0] == "ROLE" {
            // (the master's port and state differ in the details)
            assert_eq!(
                a.chars().next(),
                b.chars().next(),
                "{args:?}: {a:?} vs {b:?}"
            );
            continue;
        }
        assert_eq!(b, a, "{args:?}");
    }
}

/// A master whose default user may not run SYNC140 serves only slaves
/// that authenticate as a user who may (`masteruser` + `masterauth`):
/// the sync session is checked like any other client. The refused one is
/// in the master's ACL LOG.
#[test]
fn a_slave_follows_as_its_masteruser_and_sync_is_checked_like_any_command() {
    let tmp = TempDir::new().expect("tmp");
    let users = "user default on nopass ~* &* +@all -sync140\nuser repl on >replpw -@all +sync140";
    let master = Node::master(&tmp.path().join("m"), 0, &["--user", users]);
    let _: () = master.client().set("k", "v").expect("set");

    // As the default user: refused, and logged.
    let refused = Node::slave(&tmp.path().join("s1"), 0, master.addr, &[]);
    wait_until("the refusal in ACL LOG", LONG, || {
        let log: Vec<Vec<redis::Value>> = redis::cmd("ACL")
            .arg("LOG")
            .query(&mut master.client())
            .expect("acl log");
        log.iter().any(|e| {
            let text = format!("{e:?}");
            text.contains("sync140") && text.contains("default")
        })
    });
    assert_eq!(
        refused
            .field("replication", "master_link_status")
            .as_deref(),
        Some("down")
    );
    assert_eq!(master.num("replication", "connected_slaves"), 0);
    drop(refused);

    // As `repl`: it follows.
    let slave = Node::slave(
        &tmp.path().join("s2"),
        0,
        master.addr,
        &["--masteruser", "repl", "--masterauth", "replpw"],
    );
    wait_synced(&master, &slave, LONG);
    let _: () = master.client().set("k2", "v2").expect("set");
    wait_synced(&master, &slave, LONG);
    assert_eq!(digest(&slave), digest(&master));
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut master.client())
        .expect("client list");
    assert!(list.contains(" user=repl "), "{list}");
}
