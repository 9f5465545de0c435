//! `cargo xtask bench ha`: (a) failover through Redis Sentinel, kill -9 of
//! the master to the first write accepted by the master Sentinel then
//! names, for rocksync and for redis-server with the same Sentinel
//! settings in one run; (b) redis-benchmark through twemproxy over three
//! rocksync groups, as a ratio to one group direct.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use rocksync_testkit::{Nutcracker, Sentinel};

use crate::procs::{free_port, start, Guard};
use crate::repl_bench::{call, wait_for};

const WAIT: Duration = Duration::from_secs(120);

/// Starts a server on a port, following a master or not, in a directory.
type Spawn<'a> = &'a dyn Fn(u16, Option<u16>, &Path) -> Result<Guard>;

/// A master, two replicas following it, three Sentinels watching; the
/// kill -9 → first accepted write time, in ms.
fn failover(tmp: &Path, name: &str, spawn: Spawn<'_>) -> Result<f64> {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir)?;
    let (m, r1, r2) = (free_port()?, free_port()?, free_port()?);
    let master = spawn(m, None, &dir.join("m"))?;
    let _replicas = (
        spawn(r1, Some(m), &dir.join("r1"))?,
        spawn(r2, Some(m), &dir.join("r2"))?,
    );
    let sentinels = (0..3)
        .map(|_| {
            Sentinel::start(&dir, m).context("redis-sentinel (apt-get install redis-sentinel)")
        })
        .collect::<Result<Vec<_>>>()?;
    let ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
    wait_for("sentinels to see the group", WAIT, || {
        ports.iter().all(|&p| {
            crate::repl_bench::info_field(p, "sentinel", "master0")
                .is_some_and(|l| l.contains("slaves=2") && l.contains("sentinels=3"))
        })
    })?;
    let _ = call(m, &["SET", "before", "1"]);
    std::thread::sleep(Duration::from_millis(500));
    drop(master);
    let killed = Instant::now();
    wait_for("a write accepted by the new master", WAIT, || {
        let Some(port) = crate::repl_bench::info_field(ports[0], "sentinel", "master0")
            .and_then(|l| l.split("address=127.0.0.1:").nth(1).map(str::to_owned))
            .and_then(|a| a.split(',').next().and_then(|p| p.parse::<u16>().ok()))
        else {
            return false;
        };
        port != m && call(port, &["SET", "after", "1"]).is_ok_and(|r| r == "OK")
    })?;
    Ok(killed.elapsed().as_secs_f64() * 1000.0)
}

fn rps(port: u16, test: &str) -> Result<f64> {
    crate::bench::measure_with(port, test, 16, 200_000, &["-r", "1000000", "-d", "100"])
}

/// Run both parts and print markdown tables.
pub fn run(bins: &Path) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("rocksync-ha-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let redis = |port: u16, master: Option<u16>, dir: &Path| -> Result<Guard> {
        std::fs::create_dir_all(dir)?;
        let mut c = Command::new("redis-server");
        c.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "everysec", "--dir"])
        .arg(dir);
        if let Some(m) = master {
            c.args(["--replicaof", "127.0.0.1", &m.to_string()]);
        }
        start(&mut c, port)
    };
    let ours = |port: u16, master: Option<u16>, dir: &Path| -> Result<Guard> {
        let mut c = Command::new(bins.join("rocksync-master"));
        c.args(["--port", &port.to_string(), "--data-dir"]).arg(dir);
        if let Some(m) = master {
            c.args(["--master-addr", &format!("127.0.0.1:{m}")]);
        }
        start(&mut c, port)
    };
    let theirs_ms = failover(&tmp, "redis", &redis)?;
    let ours_ms = failover(&tmp, "rocksync", &ours)?;
    println!("### Failover through Redis Sentinel (3 Sentinels, quorum 2, down-after-milliseconds 2000)\n");
    println!(
        "| | kill -9 of the master → first write accepted by the new master | rocksync/redis |"
    );
    println!("| --- | ---: | ---: |");
    println!("| redis-server 7 | {theirs_ms:.0} ms | |");
    println!(
        "| rocksync | {ours_ms:.0} ms | {:.2} |\n",
        ours_ms / theirs_ms
    );

    // (b) twemproxy over three groups vs one group direct.
    let masters: Vec<(Guard, u16)> = (0..3)
        .map(|i| -> Result<(Guard, u16)> {
            let p = free_port()?;
            Ok((ours(p, None, &tmp.join(format!("shard{i}")))?, p))
        })
        .collect::<Result<_>>()?;
    let ports: Vec<u16> = masters.iter().map(|(_, p)| *p).collect();
    let proxy = Nutcracker::start(&tmp, "rocksync", &ports)
        .context("nutcracker (apt-get install nutcracker)")?;
    let proxy_port = proxy.port;
    let direct_port = free_port()?;
    let _direct = ours(direct_port, None, &tmp.join("direct"))?;
    println!("### redis-benchmark through twemproxy over 3 groups vs one group direct (-c 50 -n 200000 -P 16 -r 1000000 -d 100)\n");
    println!("| test | one group direct | twemproxy, 3 groups | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    for test in ["set", "get"] {
        let d = rps(direct_port, test)?;
        let p = rps(proxy_port, test)?;
        println!("| {test} | {d:.0} | {p:.0} | {:.2} |", p / d);
    }
    if masters.is_empty() {
        bail!("no shards");
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
