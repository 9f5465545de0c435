//! TLS with real clients and certificates made by openssl: redis-cli
//! `--tls` with client certificates (refused without one, or with one
//! from another CA, until `tls-auth-clients optional`), certificates
//! reloaded by CONFIG SET, redis-py with `ssl=True` and `username=` giving
//! the same results as against redis-server over TLS, and a slave that
//! follows its master over TLS (`tls-replication`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{free_port, wait_synced, Certs, Node, Proc};
use redis::Commands;
use tempfile::TempDir;

const LONG: Duration = Duration::from_secs(120);

/// redis-cli over TLS to `port`, trusting `ca`, with a client
/// certificate when given; its output (stdout and stderr).
fn cli(port: u16, ca: &Path, cert: Option<(&Path, &Path)>, args: &[&str]) -> String {
    let mut cmd = Command::new("timeout");
    cmd.args([
        "10",
        "redis-cli",
        "--tls",
        "-p",
        &port.to_string(),
        "--cacert",
    ])
    .arg(ca);
    if let Some((c, k)) = cert {
        cmd.arg("--cert").arg(c).arg("--key").arg(k);
    }
    let out = cmd.args(args).output().expect("redis-cli");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .trim()
    .to_owned()
}

fn config_set(node: &Node, key: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(key)
        .arg(value)
        .query(&mut node.client())
        .unwrap_or_else(|e| panic!("CONFIG SET {key} {value}: {e}"));
}

#[test]
fn redis_cli_over_tls_with_client_certificates_and_a_reload() {
    let certs = Certs::make();
    let tmp = TempDir::new().expect("tmp");
    let tls_port = free_port();
    let flags = certs.server_flags(tls_port);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let m = Node::master(&tmp.path().join("m"), free_port(), &flags);
    let client = Some((certs.client_cert.as_path(), certs.client_key.as_path()));

    assert_eq!(
        cli(tls_port, &certs.ca, client, &["SET", "k", "over tls"]),
        "OK"
    );
    assert_eq!(cli(tls_port, &certs.ca, client, &["GET", "k"]), "over tls");
    // The plain port still serves, the same data.
    assert_eq!(m.client().get::<_, String>("k").expect("plain"), "over tls");
    // No client certificate, or one another CA signed: refused (the
    // handshake fails, nothing is served).
    let stranger = Some((certs.stranger_cert.as_path(), certs.stranger_key.as_path()));
    for (what, cert) in [("none", None), ("another CA's", stranger)] {
        let got = cli(tls_port, &certs.ca, cert, &["GET", "k"]);
        assert!(
            !got.contains("over tls"),
            "served with {what} certificate: {got}"
        );
    }
    assert!(m.num("stats", "tls_handshake_failures") >= 2);
    // A plain client on the TLS port gets nothing.
    let plain = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &tls_port.to_string(), "GET", "k"])
        .output()
        .expect("redis-cli");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("over tls"));

    // Optional: a client without a certificate is served.
    config_set(&m, "tls-auth-clients", "optional");
    assert_eq!(cli(tls_port, &certs.ca, None, &["GET", "k"]), "over tls");

    // A new certificate by CONFIG SET: new connections get it (a client
    // that trusts only the old CA is refused, one that trusts the new is
    // served). A file that does not load is refused and changes nothing.
    let bad = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg("/nonexistent.pem")
        .query::<()>(&mut m.client())
        .expect_err("a missing certificate");
    assert!(bad.to_string().contains("/nonexistent.pem"), "{bad}");
    assert_eq!(cli(tls_port, &certs.ca, None, &["GET", "k"]), "over tls");
    let other = certs.dir.path();
    let _ = Command::new("sh")
        .current_dir(other)
        .args([
            "-c",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=server2 -keyout server2.key -out server2.csr 2>/dev/null && \
             openssl x509 -req -in server2.csr -CA otherca.crt -CAkey otherca.key -CAcreateserial -days 2 -extfile server.ext -out server2.crt 2>/dev/null",
        ])
        .status();
    let (cert2, key2) = (other.join("server2.crt"), other.join("server2.key"));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(cert2.display().to_string())
        .arg("tls-key-file")
        .arg(key2.display().to_string())
        .query(&mut m.client())
        .expect("reload");
    let got = cli(tls_port, &certs.ca, None, &["GET", "k"]);
    assert!(!got.contains("over tls"), "the old CA still trusted: {got}");
    assert_eq!(
        cli(tls_port, &other.join("otherca.crt"), None, &["GET", "k"]),
        "over tls"
    );
}

/// What an application does over TLS as an ACL user (redis-py): one
/// JSON object of what it saw.
const APP: &str = r##"
import json, sys
import redis

port, ca, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
admin = redis.Redis(host='127.0.0.1', port=int(port), ssl=True, ssl_ca_certs=ca,
                    ssl_certfile=cert, ssl_keyfile=key, decode_responses=True)
admin.flushall()
admin.acl_setuser('app', enabled=True, passwords=['+apppw'], keys=['app:*'],
                  commands=['+@read', '+@write', '-@dangerous', '+acl|whoami'])
out = {}
r = redis.Redis(host='127.0.0.1', port=int(port), ssl=True, ssl_ca_certs=ca,
                ssl_certfile=cert, ssl_keyfile=key, username='app', password='apppw',
                decode_responses=True)
out['whoami'] = r.acl_whoami()
out['set'] = r.set('app:1', 'v')
out['get'] = r.get('app:1')
for name, call in (('other_key', lambda: r.get('other')), ('flushall', lambda: r.flushall()),
                   ('config', lambda: r.config_get('maxclients'))):
    try:
        call()
        out[name] = 'allowed'
    except redis.exceptions.NoPermissionError as e:
        out[name] = str(e)
try:
    redis.Redis(host='127.0.0.1', port=int(port), ssl=True, ssl_ca_certs=ca, ssl_certfile=cert,
                ssl_keyfile=key, username='app', password='wrong').ping()
    out['wrong_password'] = 'allowed'
except redis.exceptions.ResponseError as e:
    out['wrong_password'] = str(e)
out['getuser'] = {k: v for k, v in admin.acl_getuser('app').items() if k in ('flags', 'keys', 'channels')}
out['log'] = [(e['reason'], e['object'], e['username']) for e in admin.acl_log()]
print(json.dumps(out, sort_keys=True))
"##;

fn run_app(port: u16, certs: &Certs) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", APP, &port.to_string()])
        .arg(&certs.ca)
        .arg(&certs.client_cert)
        .arg(&certs.client_key)
        .output()
        .expect("python3 (apt-get install python3-redis)");
    assert!(
        out.status.success(),
        "redis-py over TLS on port {port}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn redis_py_over_tls_as_an_acl_user_sees_what_it_sees_on_redis() {
    let certs = Certs::make();
    let redis_tls = free_port();
    let redis_dir = TempDir::new().expect("tmp");
    let _redis = Proc::listening(
        Command::new("redis-server")
            .current_dir(redis_dir.path())
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .args(["--tls-port", &redis_tls.to_string()])
            .arg("--tls-cert-file")
            .arg(&certs.server_cert)
            .arg("--tls-key-file")
            .arg(&certs.server_key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca),
        redis_tls,
        Duration::from_secs(20),
    )
    .expect("redis-server over TLS");
    let tmp = TempDir::new().expect("tmp");
    let tls_port = free_port();
    let flags = certs.server_flags(tls_port);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let _m = Node::master(&tmp.path().join("m"), free_port(), &flags);
    let theirs = run_app(redis_tls, &certs);
    let ours = run_app(tls_port, &certs);
    assert_eq!(ours, theirs);
    for expected in [
        r#""whoami": "app""#,
        r#""get": "v""#,
        r#""wrong_password": "WRONGPASS"#,
        "no permissions to run the 'flushall' command",
    ] {
        assert!(ours.contains(expected), "{expected} not in {ours}");
    }
}

#[test]
fn a_slave_follows_its_master_over_tls() {
    let certs = Certs::make();
    let tmp = TempDir::new().expect("tmp");
    let tls_port = free_port();
    let flags = certs.server_flags(tls_port);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let master = Node::master(&tmp.path().join("m"), free_port(), &flags);
    let _: () = master.client().set("before", "1").expect("set");
    let tls_addr = std::net::SocketAddr::from(([127, 0, 0, 1], tls_port));

    // The harness is real: a plain link to the TLS port gets nowhere.
    let plain = Node::slave(&tmp.path().join("plain"), 0, tls_addr, &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        plain.field("replication", "master_link_status").as_deref(),
        Some("down")
    );
    drop(plain);

    let ca = certs.ca.display().to_string();
    let cert = certs.client_cert.display().to_string();
    let key = certs.client_key.display().to_string();
    let slave = Node::slave(
        &tmp.path().join("s"),
        0,
        tls_addr,
        &[
            "--tls-replication",
            "yes",
            "--tls-ca-cert-file",
            &ca,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
        ],
    );
    wait_synced(&master, &slave, LONG);
    for i in 0..200 {
        let _: () = master.client().set(format!("k{i}"), i).expect("set");
    }
    wait_synced(&master, &slave, LONG);
    assert_eq!(common::digest(&slave), common::digest(&master));
    let replicas: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut master.client())
        .expect("client list");
    assert!(
        replicas.contains(&format!("laddr=127.0.0.1:{tls_port} ")),
        "the session is on the TLS port: {replicas}"
    );
}

/// `port 0` beside a TLS port serves TLS only, as Redis.
#[test]
fn port_zero_with_a_tls_port_serves_tls_only() {
    let certs = Certs::make();
    let tmp = TempDir::new().expect("tmp");
    let tls_port = free_port();
    let flags = certs.server_flags(tls_port);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let m = Node::master(&tmp.path().join("m"), 0, &flags);
    assert_eq!(m.addr.port(), tls_port, "the only port it listens on");
    let client = Some((certs.client_cert.as_path(), certs.client_key.as_path()));
    assert_eq!(cli(tls_port, &certs.ca, client, &["PING"]), "PONG");
    let log = std::fs::read_to_string(tmp.path().join("m.rocksync-master.log")).expect("log");
    assert_eq!(log.matches("listening").count(), 1, "{log}");
}
