//! Client limits (issue 26): `timeout` closes an idle client as Redis
//! does (subscribers and blocked clients exempt), `tcp-keepalive` arms
//! keepalive on clients' sockets, and `maxclients` must fit the process's
//! open-file limit.

use super::*;

/// A raw connection with a 10 s read timeout.
fn raw(m: &InProc) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(m.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// Send `cmd` (inline) and read what comes, up to 1 KB.
fn call(s: &mut std::net::TcpStream, cmd: &str) -> String {
    s.write_all(format!("{cmd}\r\n").as_bytes()).expect("send");
    read(s)
}

fn read(s: &mut std::net::TcpStream) -> String {
    let mut buf = [0u8; 1024];
    match s.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn an_idle_client_is_closed_after_timeout_and_subscribers_and_blocked_ones_are_not() {
    let m = InProc::start();
    let mut plain = raw(&m);
    assert_eq!(call(&mut plain, "PING"), "+PONG\r\n");
    // The hazard first: with no timeout an idle client stays.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(call(&mut plain, "PING"), "+PONG\r\n");

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg(1)
        .query(&mut m.client())
        .expect("config set timeout");
    let mut idle = raw(&m);
    assert_eq!(call(&mut idle, "PING"), "+PONG\r\n");
    let mut subscriber = raw(&m);
    assert!(call(&mut subscriber, "SUBSCRIBE ch").contains("subscribe"));
    let mut blocked = raw(&m);
    blocked.write_all(b"BLPOP q 0\r\n").expect("send blpop");
    let mut active = raw(&m);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            call(&mut active, "PING"),
            "+PONG\r\n",
            "an active client was closed"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Closed without a word, as Redis closes it: one idle since before
    // the setting changed too.
    assert_eq!(read(&mut idle), "", "the idle client is still open");
    assert_eq!(
        read(&mut plain),
        "",
        "a client idle before the change is still open"
    );
    assert!(
        call(&mut subscriber, "PING").contains("pong"),
        "the subscriber was closed"
    );
    let _: i64 = m.client().lpush("q", "x").expect("lpush");
    assert!(
        read(&mut blocked).contains('x'),
        "the blocked client was closed"
    );
}

/// What `ss` shows of the established sockets on the server's side.
fn server_sockets(m: &InProc) -> String {
    let out = std::process::Command::new("ss")
        .args(["-tnoH", "state", "established"])
        .arg(format!("( sport = :{} )", m.addr.port()))
        .output()
        .expect("ss (iproute2)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn clients_sockets_have_tcp_keepalive() {
    let m = InProc::start_with(|c| c.tcp_keepalive = 120);
    let mut c = raw(&m);
    assert_eq!(call(&mut c, "PING"), "+PONG\r\n");
    let text = server_sockets(&m);
    assert!(text.contains("keepalive"), "no keepalive timer: {text}");
    let off = InProc::start_with(|c| c.tcp_keepalive = 0);
    let mut c = raw(&off);
    assert_eq!(call(&mut c, "PING"), "+PONG\r\n");
    let text = server_sockets(&off);
    assert!(
        !text.contains("keepalive"),
        "keepalive with tcp-keepalive 0: {text}"
    );
}

#[test]
fn a_maxclients_the_process_cannot_open_is_refused() {
    let m = InProc::start();
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg(u32::MAX)
        .query::<()>(&mut m.client())
        .expect_err("more clients than files")
        .to_string();
    assert!(e.contains("open files"), "{e}");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg(500)
        .query(&mut m.client())
        .expect("a maxclients that fits");
}

/// Read until the peer closes (or 10 s): everything it sent.
fn read_to_close(s: &mut std::net::TcpStream) -> String {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    String::from_utf8_lossy(&all).into_owned()
}

#[test]
fn a_command_past_the_query_buffer_limit_or_a_bulk_past_proto_max_bulk_len_closes_its_client() {
    let m = InProc::start_with(|c| {
        c.client_query_buffer_limit = 1 << 20;
        c.proto_max_bulk_len = 1 << 20;
    });
    let mut other = raw(&m);
    // Two arguments of 700 KB each: each fits proto-max-bulk-len, the
    // command does not fit the query buffer.
    // (only as much as it takes: what the server would not read before it
    // closes could turn its close into a reset that loses the reply)
    let mut big = raw(&m);
    let arg = "x".repeat(700_000);
    let part = &arg[..400_000];
    big.write_all(
        format!("*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$700000\r\n{arg}\r\n$700000\r\n{part}").as_bytes(),
    )
    .expect("send");
    assert_eq!(
        read_to_close(&mut big),
        "-ERR Protocol error: query buffer limit reached\r\n"
    );
    // One argument past proto-max-bulk-len, as Redis words it.
    let mut bulky = raw(&m);
    let _ = bulky.write_all(b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert_eq!(
        read_to_close(&mut bulky),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    // The others go on; nothing of the cut command was applied.
    assert_eq!(call(&mut other, "EXISTS l"), ":0\r\n");
    // A command just within both limits runs.
    let mut fits = raw(&m);
    let arg = "y".repeat(1_000_000);
    fits.write_all(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n{arg}\r\n").as_bytes())
        .expect("send");
    assert_eq!(read(&mut fits), "+OK\r\n");
}

/// CLIENT LIST's line for the client named `name` (None: not connected).
fn client_line(admin: &mut redis::Connection, name: &str) -> Option<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(admin)
        .expect("client list");
    let tag = format!(" name={name} ");
    list.lines().find(|l| l.contains(&tag)).map(str::to_owned)
}

/// Its `omem=` (bytes held back for it).
fn omem(line: &str) -> u64 {
    line.split(' ')
        .find_map(|f| f.strip_prefix("omem="))
        .and_then(|v| v.parse().ok())
        .expect("omem field")
}

fn config_set(admin: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(admin)
        .expect("config set");
}

/// A subscriber to `ch` named `name` that reads nothing from now on.
fn deaf_subscriber(m: &InProc, name: &str, ch: &str) -> std::net::TcpStream {
    let mut s = raw(m);
    assert_eq!(call(&mut s, &format!("CLIENT SETNAME {name}")), "+OK\r\n");
    assert!(call(&mut s, &format!("SUBSCRIBE {ch}")).contains("subscribe"));
    s
}

#[test]
fn a_subscriber_that_never_reads_is_dropped_at_its_byte_limits_while_publishers_go_on() {
    let m = InProc::start();
    let mut admin = m.client();
    let mut publisher = m.client();
    let payload = "m".repeat(64 * 1024);
    let publish = |p: &mut redis::Connection, ch: &str, times: usize| {
        for _ in 0..times {
            let started = Instant::now();
            let _: i64 = redis::cmd("PUBLISH")
                .arg(ch)
                .arg(&payload)
                .query(p)
                .expect("publish");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "a publisher waited on a subscriber"
            );
        }
    };
    // The hazard first: with no pubsub limit, what a deaf subscriber is
    // sent piles up in the server (64 MB published, far past what the
    // sockets' buffers take).
    config_set(&mut admin, "client-output-buffer-limit", "pubsub 0 0 0");
    let _unlimited = deaf_subscriber(&m, "unlimited", "a");
    publish(&mut publisher, "a", 1000);
    let line = client_line(&mut admin, "unlimited").expect("still connected");
    assert!(omem(&line) > 16 << 20, "held back only {line}");

    // The hard limit: dropped once it holds 4 MB; a subscriber that
    // reads gets every message.
    config_set(&mut admin, "client-output-buffer-limit", "pubsub 4mb 0 0");
    let _deaf = deaf_subscriber(&m, "deaf", "b");
    let mut reader = m.client();
    let mut reader_pubsub = reader.as_pubsub();
    reader_pubsub.subscribe("b").expect("subscribe");
    reader_pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = 0;
    for _ in 0..200 {
        publish(&mut publisher, "b", 1);
        let msg = reader_pubsub.get_message().expect("message");
        assert_eq!(msg.get_payload_bytes().len(), payload.len());
        got += 1;
    }
    assert_eq!(got, 200);
    assert!(
        client_line(&mut admin, "deaf").is_none(),
        "a deaf subscriber past 4 MB is still connected"
    );

    // The soft limit: past 1 MB for more than 1 s.
    config_set(&mut admin, "client-output-buffer-limit", "pubsub 0 1mb 1");
    let _slow = deaf_subscriber(&m, "slow", "c");
    publish(&mut publisher, "c", 200);
    let line = client_line(&mut admin, "slow").expect("within its seconds");
    assert!(omem(&line) >= 1 << 20, "{line}");
    std::thread::sleep(Duration::from_millis(1500));
    publish(&mut publisher, "c", 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while client_line(&mut admin, "slow").is_some() {
        assert!(
            Instant::now() < deadline,
            "past its soft limit, still connected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The publisher and the server go on.
    let n: i64 = redis::cmd("PUBLISH")
        .arg("a")
        .arg("x")
        .query(&mut publisher)
        .expect("publish");
    assert_eq!(n, 1, "the unlimited subscriber stays");
}

#[test]
fn a_client_that_pipelines_and_never_reads_holds_back_a_chunk_of_replies_not_all() {
    let m = InProc::start();
    let mut admin = m.client();
    let big = "v".repeat(1 << 20);
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut admin)
        .expect("set");
    // 200 GETs of 1 MB, never read: Redis would build 200 MB of replies.
    let mut deaf = raw(&m);
    assert_eq!(call(&mut deaf, "CLIENT SETNAME deaf"), "+OK\r\n");
    deaf.write_all("GET big\r\n".repeat(200).as_bytes())
        .expect("send");
    std::thread::sleep(Duration::from_millis(500));
    let line = client_line(&mut admin, "deaf").expect("connected");
    assert!(omem(&line) <= 2 << 20, "held back: {line}");
    // Others go on meanwhile.
    assert_eq!(call(&mut raw(&m), "PING"), "+PONG\r\n");
    // Once it reads, every reply arrives, whole.
    let mut want = 0;
    let mut reader = std::io::BufReader::new(deaf);
    let mut header = String::new();
    for _ in 0..200 {
        header.clear();
        std::io::BufRead::read_line(&mut reader, &mut header).expect("header");
        assert_eq!(header, format!("${}\r\n", big.len()));
        let mut body = vec![0u8; big.len() + 2];
        reader.read_exact(&mut body).expect("body");
        want += 1;
    }
    assert_eq!(want, 200);

    // The normal class's hard limit closes a client whose one reply is
    // past it, as Redis does.
    config_set(&mut admin, "client-output-buffer-limit", "normal 512kb 0 0");
    let mut over = raw(&m);
    over.write_all(b"GET big\r\n").expect("send");
    let mut all = Vec::new();
    let _ = over.read_to_end(&mut all);
    assert!(all.is_empty(), "got {} bytes", all.len());
    assert_eq!(call(&mut raw(&m), "PING"), "+PONG\r\n");
}
