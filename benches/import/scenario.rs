//! The import scenarios: one file imported into a sandbox, rows a minute against the bound and
//! requests per 100 rows.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use zdbulk_sandbox::{SandboxConfig, SAMPLE_SEED};

use crate::files::{write_orgs, write_users};
use crate::run::{summary, zdbulk};
use crate::server::Server;

/// What one import scenario imports.
pub struct Scenario<'a> {
    /// The name its figures are printed under.
    pub name: &'a str,
    /// `organizations` or `users`.
    pub resource: &'a str,
    /// Writes its input file of `n` rows.
    pub write: fn(&Path, usize),
    /// The sandbox's seed.
    pub seed: String,
    /// Whether its rows are written (a bulk job per 100 rows); a re-run of an unchanged file
    /// only looks them up.
    pub writes: bool,
}

impl Scenario<'_> {
    /// Organizations from [`write_orgs`] into the sample seed.
    pub fn orgs(name: &str) -> Scenario<'_> {
        Scenario {
            name,
            resource: "organizations",
            write: write_orgs,
            seed: SAMPLE_SEED.into(),
            writes: true,
        }
    }

    /// People from [`write_users`] into the sample seed.
    pub fn users(name: &str) -> Scenario<'_> {
        Scenario {
            name,
            resource: "users",
            write: write_users,
            seed: SAMPLE_SEED.into(),
            writes: true,
        }
    }
}

/// One import scenario: rows a minute against the bound, requests per 100 rows.
///
/// The bound is what the request budget allows (a lookup per 100 rows in every mode but
/// create, and a write per 100 rows written) or the job window, whichever binds.
pub fn import(scenario: Scenario, config: SandboxConfig, rows: usize, mode: &str, job_secs: f64) {
    let name = scenario.name;
    let rate = config.rate_limit as f64;
    let jobs = config.job_limit as f64;
    let server = Server::start(SandboxConfig { seed_json: Some(scenario.seed), ..config });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("input.csv");
    (scenario.write)(&file, rows);
    let run_dir = tmp.path().join("run");
    // OAuth client credentials, as a production run would use (the token is minted once).
    std::env::set_var("ZENDESK_CLIENT_ID", "zdbulk-sandbox");
    std::env::set_var("ZENDESK_CLIENT_SECRET", "sandbox-secret");
    let started = Instant::now();
    let code = zdbulk(&[
        "import",
        scenario.resource,
        file.to_str().unwrap(),
        "--url",
        &server.url,
        "--mode",
        mode,
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--quiet",
    ]);
    let secs = started.elapsed().as_secs_f64();
    let s = summary(&run_dir);
    let stats = server.stats();
    let lookups = if mode == "create" { 0.0 } else { 1.0 };
    let (writes, window) =
        if scenario.writes { (1.0, jobs * 100.0 * 60.0 / job_secs) } else { (0.0, f64::INFINITY) };
    let bound = (100.0 * rate / (lookups + writes)).min(window);
    let per_min = rows as f64 / secs * 60.0;
    let requests = stats["total_requests"].as_f64().unwrap_or(0.0);
    let polls = &stats["requests"]["GET /api/v2/job_statuses/show_many"]["200"];
    println!(
        "{name}: exit {code}, {rows} rows in {secs:.1}s = {per_min:.0} rows/min; bound {bound:.0} rows/min \
         => {:.1}% of the bound; {requests} requests = {:.3} per 100 rows ({polls} polls); 429s {}; peak jobs {}; created {}, updated {}, unchanged {}{}",
        100.0 * per_min / bound,
        requests / (rows as f64 / 100.0),
        stats["rate_limited"],
        stats["peak_jobs_in_flight"],
        s["counts"]["created"],
        s["counts"]["updated"],
        s["counts"]["unchanged"],
        match &s["counts"]["deleted"] {
            Value::Null => String::new(),
            deleted => format!(", deleted {deleted}"),
        },
    );
    println!("{name}: requests by endpoint {}", stats["requests"]);
}
