//! `cargo xtask bench tls [--quick]`: redis-server and rocksync-master
//! side by side over TLS (certificates made here with openssl; clients
//! present theirs, as `tls-auth-clients yes` asks), SET and GET at `-P 1`
//! and `-P 16` over 1 M loaded keys (`-r 1000000 -d 100`), each server's
//! CPU per command beside its rate. Plain-TCP rows of the same servers
//! are measured in the same run, so the cost of TLS itself shows.

use std::path::Path;

use anyhow::{Context, Result};
use rocksync_testkit::Certs;

use crate::bench::{measure_with, redis_cmd, redis_version, rocksync_cmd, settle};
use crate::cpu_bench::{process_ticks, us_per_command};
use crate::procs::{free_port, start, Guard};

/// One server: its plain port (INFO, loading), its TLS port, its process.
struct Server {
    plain: u16,
    tls: u16,
    proc: Guard,
}

fn start_server(cmd: &mut std::process::Command, plain: u16, certs: &Certs) -> Result<Server> {
    let tls = free_port()?;
    cmd.args(certs.server_flags(tls));
    let proc = start(cmd, plain)?;
    Ok(Server { plain, tls, proc })
}

/// Run the comparison and print a markdown table.
pub fn run(quick: bool) -> Result<()> {
    let certs = Certs::make();
    let bins = crate::release_bins()?;
    let tmp = std::env::temp_dir().join(format!("rocksync-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("redis"))?;
    let result = compare(&certs, &bins.join("rocksync-master"), &tmp, quick);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn compare(certs: &Certs, ours_bin: &Path, tmp: &Path, quick: bool) -> Result<()> {
    let port = free_port()?;
    let redis = start_server(&mut redis_cmd(port, &tmp.join("redis")), port, certs)
        .context("redis-server with TLS (Debian's is built with it)")?;
    let port = free_port()?;
    let ours = start_server(
        &mut rocksync_cmd(ours_bin, port, &tmp.join("rocksync")),
        port,
        certs,
    )?;
    let (load, n) = if quick {
        (100_000, 20_000)
    } else {
        (1_000_000, 200_000)
    };
    let keyspace = ["-r", "1000000", "-d", "100"];
    let tls_args: Vec<String> = [
        ("--cacert", &certs.ca),
        ("--cert", &certs.client_cert),
        ("--key", &certs.client_key),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_owned(), v.display().to_string()])
    .chain(["--tls".to_owned()])
    .collect();
    let mut over_tls: Vec<&str> = keyspace.to_vec();
    over_tls.extend(tls_args.iter().map(String::as_str));
    for s in [&redis, &ours] {
        measure_with(s.plain, "set", 16, load, &keyspace)?;
    }
    println!(
        "redis-benchmark -c 50 -n {n} -r 1000000 -d 100 after {load} SETs; TLS: --tls with a client certificate; redis-server {} (appendonly yes, appendfsync everysec) vs rocksync-master (binlog_fsync everysec); CPU µs per command of each server process\n",
        redis_version()
    );
    println!("| link | test | -P | redis-server ops/s | rocksync ops/s | rocksync/redis | redis-server CPU µs/cmd | rocksync CPU µs/cmd |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (link, tls) in [("TLS", true), ("TCP", false)] {
        for pipeline in [1, 16] {
            for test in ["set", "get"] {
                let mut cells = Vec::new();
                for s in [&redis, &ours] {
                    settle(redis.plain)?;
                    settle(ours.plain)?;
                    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", s.proc.id()));
                    let t0 = process_ticks(&stat)?;
                    let ops = if tls {
                        measure_with(s.tls, test, pipeline, n, &over_tls)?
                    } else {
                        measure_with(s.plain, test, pipeline, n, &keyspace)?
                    };
                    let t1 = process_ticks(&stat)?;
                    cells.push((ops, us_per_command(t1 - t0, f64::from(n))));
                }
                println!(
                    "| {link} | {} | {pipeline} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
                    test.to_uppercase(),
                    cells[0].0,
                    cells[1].0,
                    cells[1].0 / cells[0].0,
                    cells[0].1,
                    cells[1].1
                );
            }
        }
    }
    Ok(())
}
