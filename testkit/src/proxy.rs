//! A TCP proxy on 127.0.0.1 in front of one server, which a test cuts (a
//! network partition: nothing passes either way, open connections stay
//! open and silent, new ones hang until the cut heals) or slows to a byte
//! rate. Its threads end, and its connections close, when it drops.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a held thread looks at the switches again.
const TICK: Duration = Duration::from_millis(5);

#[derive(Default)]
struct Switches {
    cut: AtomicBool,
    /// Bytes per second each way, per connection (0: no limit).
    rate: AtomicU64,
    stop: AtomicBool,
    /// The sockets of each open connection, to close them all at the end.
    sockets: Mutex<HashMap<u64, Vec<TcpStream>>>,
    next: AtomicU64,
}

impl Switches {
    /// Wait while cut; false once stopping.
    fn wait_open(&self) -> bool {
        while self.cut.load(Ordering::Relaxed) {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(TICK);
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn keep(&self, id: u64, s: &TcpStream) {
        if let Ok(c) = s.try_clone() {
            self.sockets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(id)
                .or_default()
                .push(c);
        }
    }

    fn forget(&self, id: u64) {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// A proxy to a server on 127.0.0.1.
pub struct Proxy {
    /// The port it listens on.
    pub port: u16,
    switches: Arc<Switches>,
}

impl Proxy {
    /// One on a free port, forwarding to `upstream` on 127.0.0.1.
    ///
    /// # Errors
    /// Binding the listening socket.
    pub fn start(upstream: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let switches = Arc::new(Switches::default());
        let sw = Arc::clone(&switches);
        std::thread::spawn(move || accept(&listener, upstream, &sw));
        Ok(Self { port, switches })
    }

    /// Partition: from now on nothing passes, either way.
    pub fn cut(&self) {
        self.switches.cut.store(true, Ordering::Relaxed);
    }

    /// End the partition: what was held back passes, in order.
    pub fn heal(&self) {
        self.switches.cut.store(false, Ordering::Relaxed);
    }

    /// Forward at most `bytes_per_sec` each way on each connection (0: no
    /// limit).
    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.switches.rate.store(bytes_per_sec, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.switches.stop.store(true, Ordering::Relaxed);
        for s in self
            .switches
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .flat_map(|(_, s)| s)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, upstream: u16, sw: &Arc<Switches>) {
    while !sw.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let sw = Arc::clone(sw);
                std::thread::spawn(move || connect(client, upstream, &sw));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(TICK),
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

/// A new connection: held while cut, then joined to a connection of its
/// own to the server.
fn connect(client: TcpStream, upstream: u16, sw: &Arc<Switches>) {
    let id = sw.next.fetch_add(1, Ordering::Relaxed);
    join(id, client, upstream, sw);
    sw.forget(id);
}

/// Forward one connection until both ways end.
fn join(id: u64, client: TcpStream, upstream: u16, sw: &Arc<Switches>) {
    let _ = client.set_nonblocking(false);
    sw.keep(id, &client);
    if !sw.wait_open() {
        return;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = client.set_nodelay(true);
    sw.keep(id, &server);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let sw2 = Arc::clone(sw);
    let other = std::thread::spawn(move || pump(c2, s2, &sw2));
    pump(server, client, sw);
    let _ = other.join();
}

/// Copy `from` to `to` until either ends, holding what was read while
/// cut and pacing it to the rate.
fn pump(mut from: TcpStream, mut to: TcpStream, sw: &Switches) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let rate = sw.rate.load(Ordering::Relaxed);
        // Under a rate, read at most a tenth of a second's worth at once.
        let max = if rate == 0 {
            buf.len()
        } else {
            (rate as usize / 10).clamp(1, buf.len())
        };
        let n = match from.read(&mut buf[..max]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !sw.wait_open() {
            break;
        }
        if rate > 0 {
            std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // (a close is news too: it passes no cut)
    sw.wait_open();
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
