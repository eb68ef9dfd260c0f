//! Throughput and cost benchmarks of `zdbulk import` and `zdbulk validate` against the
//! sandbox at `--time-scale 1` (the client's timers do not scale, so only real time gives
//! real figures). Run all with `cargo bench --bench import`, or one with
//! `cargo bench --bench import -- create-10s` (scenarios: create-10s, create-1s, upsert,
//! users-create-10s, users-create-1s, users-upsert, users-memberships, users-update,
//! users-delete, users-rerun, validate-1m, and, not run by default for they take long, memory
//! and memory-users). Figures go to stdout;
//! `docs/performance.md` records them.
//!
//! Modules: `server` (the sandbox on its own thread), `run` (zdbulk in-process or as a
//! child process), `files` (input files), `seeds` (sandbox seeds), `scenario` (the import
//! scenarios), `memory` (peak memory), `validate` (a million rows validated).

mod files;
mod memory;
mod run;
mod scenario;
mod seeds;
mod server;
mod validate;

use zdbulk_sandbox::SandboxConfig;

use crate::files::{write_members, write_users_retitled};
use crate::memory::memory;
use crate::run::{import_child, validate_child};
use crate::scenario::{import, Scenario};
use crate::seeds::{seed_with_orgs, seed_with_users};
use crate::validate::validate_1m;

fn main() {
    let child = std::env::var("ZDBULK_BENCH_CHILD").unwrap_or_default();
    if !child.is_empty() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return match child.as_str() {
            "validate" => validate_child(&args),
            _ => import_child(&args),
        };
    }
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    // Long: only when named.
    let named = |name: &str| wanted.iter().any(|w| w == name);
    // 1 s jobs: 200 ms queued + 100 × 8 ms; the request budget binds.
    let fast_jobs = || SandboxConfig { job_delay_ms: 200, job_item_ms: 8, ..Default::default() };
    if run("create-10s") {
        // Zendesk-like jobs: 2 s queued + 100 × 80 ms = 10 s; the job window binds.
        import(Scenario::orgs("create-10s"), SandboxConfig::default(), 45_000, "create", 10.0);
    }
    if run("create-1s") {
        import(Scenario::orgs("create-1s"), fast_jobs(), 140_000, "create", 1.0);
    }
    if run("upsert") {
        import(Scenario::orgs("upsert"), SandboxConfig::default(), 45_000, "upsert", 10.0);
    }
    if run("users-create-10s") {
        let scenario = Scenario::users("users-create-10s");
        import(scenario, SandboxConfig::default(), 45_000, "create", 10.0);
    }
    if run("users-create-1s") {
        import(Scenario::users("users-create-1s"), fast_jobs(), 140_000, "create", 1.0);
    }
    if run("users-upsert") {
        import(Scenario::users("users-upsert"), SandboxConfig::default(), 45_000, "upsert", 10.0);
    }
    if run("users-memberships") {
        // As users-create-10s, each person in one of 20 organizations and a third of them in
        // two more: memberships/create_many jobs after the users, and organization lookups.
        let scenario = Scenario {
            name: "users-memberships",
            resource: "users",
            write: write_members,
            seed: seed_with_orgs(),
            writes: true,
        };
        import(scenario, SandboxConfig::default(), 45_000, "create", 10.0);
    }
    // The other modes for users, each on 45,000 people the seed has already created (so the
    // figures count only the measured import), with 1 s jobs so that the requests bind.
    if run("users-update") {
        // Every row has a new job title: a lookup and an update_many job per 100 rows.
        let scenario = Scenario {
            write: write_users_retitled,
            seed: seed_with_users(45_000),
            ..Scenario::users("users-update")
        };
        import(scenario, fast_jobs(), 45_000, "update", 1.0);
    }
    if run("users-delete") {
        // A lookup and a destroy_many job per 100 rows.
        let scenario =
            Scenario { seed: seed_with_users(45_000), ..Scenario::users("users-delete") };
        import(scenario, fast_jobs(), 45_000, "delete", 1.0);
    }
    if run("users-rerun") {
        // The create file imported again as it is: every row unchanged, lookups only.
        let scenario = Scenario {
            seed: seed_with_users(45_000),
            writes: false,
            ..Scenario::users("users-rerun")
        };
        import(scenario, fast_jobs(), 45_000, "upsert", 1.0);
    }
    if run("validate-1m") {
        validate_1m();
    }
    if named("memory") {
        memory("memory", "organizations", &[50_000, 200_000, 1_000_000]);
    }
    if named("memory-users") {
        memory("memory-users", "users", &[50_000, 200_000, 1_000_000]);
    }
    // Sizes one at a time: `memory-50000`, `memory-users-200000`.
    for w in &wanted {
        let (name, resource, n) = match w.strip_prefix("memory-users-") {
            Some(n) => ("memory-users", "users", n),
            None => match w.strip_prefix("memory-") {
                Some(n) => ("memory", "organizations", n),
                None => continue,
            },
        };
        if let Ok(n) = n.parse() {
            memory(name, resource, &[n]);
        }
    }
}
