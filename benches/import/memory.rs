//! The memory scenarios: peak memory of a large upsert, zdbulk in a child process.

use std::time::Instant;

use zdbulk_sandbox::{SandboxConfig, SAMPLE_SEED};

use crate::files::{write_orgs9, write_users9};
use crate::run::summary;
use crate::seeds::seed_with_nine_user_fields;
use crate::server::Server;

/// Peak memory of `zdbulk import` (upsert, nine custom fields) of `sizes` rows into a fast
/// sandbox: jobs done at once and a budget of a million requests a minute, so zdbulk's own
/// work binds. zdbulk runs in a child process, so its peak is its own and not the sandbox's.
pub fn memory(name: &str, resource: &str, sizes: &[usize]) {
    for &rows in sizes {
        let seed =
            if resource == "users" { seed_with_nine_user_fields() } else { SAMPLE_SEED.into() };
        let server = Server::start(SandboxConfig {
            rate_limit: 1_000_000,
            job_delay_ms: 0,
            job_item_ms: 0,
            seed_json: Some(seed),
            ..SandboxConfig::default()
        });
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("input.csv");
        if resource == "users" {
            write_users9(&file, rows);
        } else {
            write_orgs9(&file, rows);
        }
        let size_mb = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
        let run_dir = tmp.path().join("run");
        let started = Instant::now();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("ZDBULK_BENCH_CHILD", "import")
            .env("ZENDESK_CLIENT_ID", "zdbulk-sandbox")
            .env("ZENDESK_CLIENT_SECRET", "sandbox-secret")
            .args([resource, file.to_str().unwrap(), &server.url, run_dir.to_str().unwrap()])
            .output()
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        let child = String::from_utf8_lossy(&out.stdout);
        let s = summary(&run_dir);
        let stats = server.stats();
        let requests = stats["total_requests"].as_f64().unwrap_or(0.0);
        let artifacts: u64 = std::fs::read_dir(&run_dir)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.metadata().ok()?.len()))
            .sum();
        println!(
            "{name}-{rows}: {size_mb:.0} MB file; {} in {secs:.1}s = {:.0} rows/min; {requests} requests = {:.3} per 100 rows; \
             created {}, failed {}; run directory {:.0} MB{}",
            child.trim(),
            rows as f64 / secs * 60.0,
            requests / (rows as f64 / 100.0),
            s["counts"]["created"],
            s["counts"]["failed"],
            artifacts as f64 / 1e6,
            if out.status.success() {
                String::new()
            } else {
                format!("; child failed: {}", String::from_utf8_lossy(&out.stderr))
            }
        );
    }
}
