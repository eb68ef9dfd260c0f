//! Running zdbulk: in-process on a runtime of its own, or as the child process the memory and
//! validate scenarios start so that its peak memory is its own.

use std::path::Path;

use clap::Parser as _;
use serde_json::Value;

/// Runs `zdbulk <args>` on a 2-worker runtime, as the binary does on this machine, and gives
/// its exit code.
pub fn zdbulk(args: &[&str]) -> u8 {
    let cli = zdbulk::cli::Cli::parse_from(std::iter::once("zdbulk").chain(args.iter().copied()));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match rt.block_on(zdbulk::run(cli)) {
        Ok(status) => status.code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            zdbulk::error::print_error(&e).code()
        }
    }
}

/// A run directory's `summary.json`.
pub fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// This process's peak resident memory (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The child process of `memory`: runs `zdbulk import` and prints its peak memory.
pub fn import_child(args: &[String]) {
    let code = zdbulk(&[
        "import",
        &args[0],
        &args[1],
        "--url",
        &args[2],
        "--run-dir",
        &args[3],
        "--quiet",
    ]);
    println!("exit {code}, peak RSS {:.1} MB", peak_rss_mb());
}

/// The child process of `validate-1m`: runs `zdbulk validate` and prints its peak memory.
pub fn validate_child(args: &[String]) {
    let code = zdbulk(&[
        "validate",
        "organizations",
        &args[0],
        "--fields",
        &args[1],
        "--run-dir",
        &args[2],
        "--quiet",
    ]);
    println!("exit {code}, peak RSS {:.0} MB", peak_rss_mb());
}
