//! `zdbulk import organizations` with OAuth client credentials against a sandbox whose 5xx
//! faults also hit `POST /oauth/tokens` (the gate draws a fault for every request), and
//! whose `token-expire` fault forces renewals mid-run: every row must still be created.

use serde_json::Value;
use zdbulk_sandbox::{FaultSpec, SandboxConfig};

use crate::common::zdbulk;
use crate::import::{count, fast, read_csv, sandbox, stats};

/// The sandbox's documented default OAuth client (docs/sandbox.md).
const CLIENT_ID: &str = "zdbulk-sandbox";
const CLIENT_SECRET: &str = "sandbox-secret";

/// 5xx answers on the token endpoint, whatever their code.
fn token_5xx(stats: &Value) -> u64 {
    let by_status = &stats["requests"]["POST /oauth/tokens"];
    ["500", "503"].iter().map(|s| by_status[*s].as_u64().unwrap_or(0)).sum()
}

fn token_minted(stats: &Value) -> u64 {
    let by_status = &stats["requests"]["POST /oauth/tokens"];
    ["200", "201"].iter().map(|s| by_status[*s].as_u64().unwrap_or(0)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_5xx_and_renewals_lose_no_row() {
    // Seed 3 makes the very first request, the first mint, meet a 5xx (draws are seeded, and
    // nothing runs alongside the first mint). A 5xx rate of 0.15 leaves each request
    // 0.15^6 ≈ 1e-5 of failing all six attempts. A time scale of 3600 makes Zendesk's
    // 30-minute tokens last half a real second, so the sandbox rejects them (401
    // `invalid_token`) several times during the run and zdbulk renews them mid-run, through
    // the same 5xx faults. (The `token-expire` fault would also force renewals, but two
    // draws in a row on one request end it: a renewed token is re-minted once per request.)
    let sb = sandbox(SandboxConfig {
        faults: FaultSpec { server_error: 0.15, ..FaultSpec::default() },
        fault_seed: 3,
        time_scale: 3600.0,
        ..fast()
    });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["name", "external_id", "notes"]).unwrap();
    for i in 0..600 {
        w.write_record([format!("Org {i:05}"), format!("ext-{i}"), "n".into()]).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let run_dir = tmp.path().join("run");
    let out = zdbulk()
        .current_dir(tmp.path())
        .args(["import", "organizations", file.to_str().unwrap(), "--url", &sb.url, "--run-dir"])
        .arg(&run_dir)
        .args(["--quiet", "--batch-size", "10"])
        .env("ZENDESK_CLIENT_ID", CLIENT_ID)
        .env("ZENDESK_CLIENT_SECRET", CLIENT_SECRET)
        .env("ZDBULK_TEST_NO_RETRY_DELAY", "1")
        .output()
        .expect("zdbulk runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = read_csv(&run_dir.join("report.csv"));
    let s = stats(&sb).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{s}");
    assert_eq!(report.len(), 600);
    assert_eq!(count(&report, "created"), 600);
    assert!(!stderr.contains(CLIENT_SECRET), "{stderr}");
    assert!(token_5xx(&s) >= 1, "the token endpoint met 5xx faults: {s}");
    assert!(token_minted(&s) >= 2, "tokens were renewed mid-run: {s}");
    assert!(
        s["requests"]["GET /api/v2/job_statuses/show_many"]["401"].as_u64().unwrap_or(0) > 0
            || s["requests"]["POST /api/v2/organizations/create_many"]["401"].as_u64().unwrap_or(0)
                > 0,
        "the renewals followed 401 invalid_token: {s}"
    );
}
