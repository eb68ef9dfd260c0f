//! Throughput and peak memory of `zdbulk export` against the sandbox (issue 10). The bound of
//! an export is its request budget: a cursor page holds 100 records and costs one request, so
//! at `--max-rpm R` no export can beat 100 × R records a minute; each scenario reports its
//! share of that bound (target ≥ 95 %) and zdbulk's peak memory, measured in a child process so
//! that the sandbox's memory is not counted (25,000 records within 20 % of 5,000).
//!
//! `cargo bench --bench export` runs orgs-csv and orgs-xlsx; `-- users` (people in two
//! organizations each third, named by their organizations) runs only when named. Figures go to
//! stdout; `docs/performance.md` records them.

#[path = "../import/server.rs"]
mod server;

use std::time::Instant;

use serde_json::{json, Value};
use zdbulk_sandbox::{SandboxConfig, SAMPLE_SEED};

use crate::server::Server;

/// The request budget the scenarios export under: 10 requests a second.
const RPM: u32 = 600;

/// Record counts each scenario exports.
const SIZES: [usize; 2] = [5_000, 25_000];

fn main() {
    if std::env::var("ZDBULK_BENCH_CHILD").as_deref() == Ok("export") {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return export_child(&args);
    }
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("orgs-csv") {
        scenario("orgs-csv", "organizations", "csv");
    }
    if run("orgs-xlsx") {
        scenario("orgs-xlsx", "organizations", "xlsx");
    }
    if wanted.iter().any(|w| w == "users") {
        scenario("users", "users", "csv");
    }
}

/// An organization with nine of the sample seed's custom fields filled.
fn org(i: usize) -> Value {
    json!({
        "name": format!("Bench org {i:07}"),
        "external_id": format!("bench-{i}"),
        "domain_names": [format!("b{i}.example")],
        "tags": ["bench", format!("t{}", i % 7)],
        "notes": "n",
        "organization_fields": {
            "tier": (["free", "pro", "enterprise"][i % 3]), "region": "emea", "seats": i % 900,
            "arr": i as f64 * 1.5, "renewal_date": "2027-03-04", "partner": i % 2 == 0,
            "account_code": format!("ABC-{:04}", i % 10_000), "products": ["support", "talk"],
            "crm_owner": "Ada",
        },
    })
}

fn user(i: usize) -> Value {
    json!({
        "name": format!("Bench person {i:07}"), "email": format!("p{i}@bench.example"),
        "external_id": format!("bp-{i}"), "verified": true, "phone": format!("+1555{i:07}"),
        "user_fields": {"department": "sales", "employee_number": i, "vip": i % 3 == 0},
    })
}

/// Exports `n` records of `resource` for each of [`SIZES`] and prints throughput and memory.
fn scenario(name: &str, resource: &str, ext: &str) {
    for n in SIZES {
        let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
        let orgs = if resource == "users" { n / 10 } else { n };
        seed["organizations"] = (0..orgs).map(org).collect();
        if resource == "users" {
            seed["users"] = (0..n).map(user).collect();
        }
        // The sandbox's own budget is out of reach: `--max-rpm` is the budget that binds.
        let server = Server::start(SandboxConfig {
            rate_limit: 1_000_000,
            job_delay_ms: 0,
            job_item_ms: 0,
            seed_json: Some(seed.to_string()),
            ..SandboxConfig::default()
        });
        if resource == "users" {
            add_memberships(&server, orgs);
        }
        let before = server.stats()["total_requests"].as_f64().unwrap_or(0.0);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(format!("out.{ext}"));
        let started = Instant::now();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .env("ZDBULK_BENCH_CHILD", "export")
            .env("ZENDESK_EMAIL", "admin@sandbox.test")
            .env("ZENDESK_API_TOKEN", "sandbox-token")
            .args([resource, out.to_str().unwrap(), &server.url])
            .output()
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        let requests = server.stats()["total_requests"].as_f64().unwrap_or(0.0) - before;
        let per_min = n as f64 / secs * 60.0;
        let bound = 100.0 * f64::from(RPM);
        println!(
            "{name}-{n}: {} in {secs:.1}s = {per_min:.0} records/min = {:.1}% of the bound ({bound:.0}/min at --max-rpm {RPM}); \
             {requests} requests = {:.2} per 100 records; output {:.1} MB{}",
            String::from_utf8_lossy(&child.stdout).trim(),
            per_min / bound * 100.0,
            requests / (n as f64 / 100.0),
            std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
            if child.status.success() {
                String::new()
            } else {
                format!("; child failed: {}", String::from_utf8_lossy(&child.stderr))
            }
        );
    }
}

/// Every third person joins two organizations (the first becomes the default), in jobs of 100
/// (instant in this sandbox).
fn add_memberships(server: &Server, orgs: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let get = |path: String| {
            let c = client.clone();
            let url = format!("{}{path}", server.url);
            async move {
                c.get(url)
                    .basic_auth("admin@sandbox.test/token", Some("sandbox-token"))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let mut users = Vec::new();
        let mut org_ids = Vec::new();
        for (plural, into) in [("users", &mut users), ("organizations", &mut org_ids)] {
            let mut after = String::new();
            loop {
                let page = get(format!("/api/v2/{plural}.json?page[size]=100{after}")).await;
                into.extend(
                    page[plural].as_array().unwrap().iter().filter_map(|r| r["id"].as_u64()),
                );
                if page["meta"]["has_more"] != json!(true) {
                    break;
                }
                let cursor = page["meta"]["after_cursor"].as_str().unwrap().to_string();
                after = format!("&page[after]={}", cursor.replace('+', "%2B").replace('=', "%3D"));
            }
        }
        let items: Vec<Value> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .flat_map(|(i, u)| {
                [i % orgs, (i + 1) % orgs]
                    .map(|o| json!({"user_id": u, "organization_id": org_ids[o]}))
            })
            .collect();
        for chunk in items.chunks(100) {
            let url = format!("{}/api/v2/organization_memberships/create_many.json", server.url);
            let body = json!({ "organization_memberships": chunk });
            // Jobs are instant, but the window of 30 may be full for a moment.
            for attempt in 0.. {
                let sent = client
                    .post(&url)
                    .basic_auth("admin@sandbox.test/token", Some("sandbox-token"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                if sent.status().is_success() {
                    break;
                }
                assert!(attempt < 50, "memberships refused: {}", sent.status());
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    });
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

/// The child process: `zdbulk export RESOURCE -o OUT --url URL --max-rpm RPM` on a 2-worker
/// runtime, as the binary runs on this machine; prints its exit code and peak memory.
fn export_child(args: &[String]) {
    use clap::Parser as _;
    let rpm = RPM.to_string();
    let argv = ["zdbulk", "export", &args[0], "-o", &args[1], "--url", &args[2]];
    let cli = zdbulk::cli::Cli::parse_from(argv.into_iter().chain(["--max-rpm", &rpm, "--quiet"]));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let code = match rt.block_on(zdbulk::run(cli)) {
        Ok(status) => status.code(),
        Err(e) => zdbulk::error::print_error(&e).code(),
    };
    println!("exit {code}, peak RSS {:.1} MB", peak_rss_mb());
}
