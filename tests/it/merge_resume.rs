//! A merge run killed with SIGKILL half-way, then `zdbulk resume`d: every pair merged, and no
//! merge request sent twice (the sandbox's request counts say so).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::import::{count, read_csv, stats};
use crate::merge::{id, merge_args, org, sandbox};
use crate::resume::{finish, journal_lines, resume_args, spawn, wait, Creds};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_run_killed_half_way_and_resumed_sends_no_merge_twice() {
    let n = 150;
    let mut orgs = Vec::new();
    for i in 0..n {
        orgs.push(json!({"name": format!("Lost {i}")}));
    }
    for i in 0..n {
        orgs.push(json!({"name": format!("Kept {i}")}));
    }
    // Merges that take a while (0.4 s queued), so the kill lands with some in flight.
    let sb = sandbox(json!({"organizations": orgs}), 400);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pairs.csv");
    let mut text = String::from("loser_id,winner_id\n");
    for i in 0..n {
        text.push_str(&format!("{},{}\n", id(i), id(n + i)));
    }
    std::fs::write(&file, text).unwrap();
    let run_dir = tmp.path().join("run");
    let args = merge_args(
        &sb.url,
        &[file.to_str().unwrap(), "--yes", "--run-dir", run_dir.to_str().unwrap()],
    );
    let child = spawn(tmp.path(), &args, Creds::Token);
    let end = Instant::now() + Duration::from_secs(60);
    while journal_lines(&run_dir, "merge_accepted").1 < 40 {
        assert!(Instant::now() < end, "no merge was accepted");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut child = child;
    child.kill().unwrap();
    assert_eq!(wait(child, Duration::from_secs(10)), -9, "killed before the end");
    let accepted = journal_lines(&run_dir, "merge_accepted").1;
    assert!(accepted < n, "the kill landed half-way ({accepted} of {n} accepted)");

    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "{out}");
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report.len(), n);
    assert_eq!(count(&report, "deleted"), n, "{out}");
    for i in (0..n).step_by(13) {
        assert!(org(&sb, id(i)).await.is_none(), "Lost {i} is gone");
    }
    let s = stats(&sb).await;
    let by_status = &s["requests"]["POST /api/v2/organizations/{id}/merge"];
    let sent: u64 = by_status.as_object().unwrap().values().filter_map(Value::as_u64).sum();
    assert_eq!(sent, n as u64, "each merge sent once: {by_status}");

    // Resuming the finished run sends nothing.
    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to resume"), "{out}");
}

/// Merges that end in `error` (the sandbox's job-fail fault) are sent again, then reported:
/// every pair has one line, a `deleted` pair's loser is gone, a `failed` pair's loser is still
/// there, and no pair is sent more than three times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_that_end_in_error_are_sent_again_then_reported() {
    let n = 60;
    let mut orgs = Vec::new();
    for i in 0..n {
        orgs.push(json!({"name": format!("Lost {i}")}));
    }
    for i in 0..n {
        orgs.push(json!({"name": format!("Kept {i}")}));
    }
    let sb = crate::common::TestSandbox::start(zdbulk_sandbox::SandboxConfig {
        seed_json: Some(json!({"organizations": orgs}).to_string()),
        job_delay_ms: 20,
        job_item_ms: 1,
        rate_limit: 100_000,
        fault_seed: 11,
        faults: zdbulk_sandbox::FaultSpec { job_fail: 0.4, ..Default::default() },
        ..zdbulk_sandbox::SandboxConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pairs.csv");
    let mut text = String::from("loser_id,winner_id\n");
    for i in 0..n {
        text.push_str(&format!("{},{}\n", id(i), id(n + i)));
    }
    std::fs::write(&file, text).unwrap();
    let run_dir = tmp.path().join("run");
    let args = merge_args(
        &sb.url,
        &[file.to_str().unwrap(), "--yes", "--run-dir", run_dir.to_str().unwrap()],
    );
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert!(code == 0 || code == 1, "{out}");
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report.len(), n, "every pair has one line");
    let s = stats(&sb).await;
    assert!(s["faults"]["merge-error"].as_u64().unwrap_or(0) > 0, "merges did fail: {s}");
    let sent = s["requests"]["POST /api/v2/organizations/{id}/merge"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>());
    assert!(sent > n as u64, "failed merges were sent again: {sent}");
    assert!(sent <= 3 * n as u64, "at most three sends a pair: {sent}");
    for (i, line) in report.iter().enumerate() {
        let gone = org(&sb, id(i)).await.is_none();
        match line[3].as_str() {
            "deleted" => assert!(gone, "pair {i} deleted: its loser is gone"),
            "failed" => assert!(!gone, "pair {i} failed: its loser is still there"),
            other => panic!("pair {i}: {other}"),
        }
    }
    assert!(count(&report, "deleted") > n / 2, "most merges land on a retry: {out}");
}
