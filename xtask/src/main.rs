//! `cargo xtask`: the project's tasks, in Rust so they run wherever cargo
//! does (matklad/cargo-xtask).
//!
//! - `cargo xtask ci`: rustfmt check, clippy (warnings are errors) and the
//!   test suite, in the release profile shared with benches and binaries.
//! - `cargo xtask bench`: every criterion benchmark of the workspace.

mod tidy;

use std::process::Command;

use anyhow::{bail, Context, Result};

/// The test command README.md gives and CI runs.
const TEST_ARGS: &[&str] = &["test", "--release", "--workspace"];

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(tidy::workspace_root())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("cargo {} failed: {status}", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(TEST_ARGS)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => {
            let mut a = vec!["bench", "--workspace"];
            a.extend(args[1..].iter().map(String::as_str));
            cargo(&a)
        }
        _ => bail!("usage: cargo xtask <ci | bench [criterion args]>"),
    }
}
