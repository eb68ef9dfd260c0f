//! Stopping a run through the real binary (issue 8): Ctrl-C and SIGTERM let the jobs in flight
//! end and leave a failed file that finishes the run; a second Ctrl-C stops at once.

use std::path::Path;

use serde_json::Value;
use zdbulk_sandbox::SandboxConfig;

use crate::common::TestSandbox;
use crate::import::{count, read_csv, run, sandbox, stats, write_orgs};

/// Starts an import of `file` against `sb` in the background, five jobs at a time.
fn spawn_import(sb: &TestSandbox, dir: &Path, file: &Path, run_dir: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .current_dir(dir)
        .args(["import", "organizations"])
        .arg(file)
        .args(["--url", &sb.url, "--quiet", "--max-jobs", "5", "--run-dir"])
        .arg(run_dir)
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "sandbox-token")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the sandbox has five jobs queued (the window), then sends `signal` `times`.
async fn interrupt_when_busy(
    sb: &TestSandbox,
    child: &std::process::Child,
    signal: &str,
    times: u32,
) {
    for _ in 0..200 {
        if stats(sb).await["jobs_in_flight"].as_u64() == Some(5) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..times {
        let kill = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Ctrl-C (and SIGTERM, which `timeout` and CI send) stop sending, let the jobs in flight end
/// and report their rows with what the jobs did; the rows never sent are skipped, in the failed
/// file, and importing that file (the command the run prints) finishes with no duplicate.
async fn interrupt_once_then_finish(signal: &str) {
    // Jobs queue for two seconds: the run is busy when it is interrupted, and not for long.
    let sb =
        sandbox(SandboxConfig { job_delay_ms: 2_000, job_item_ms: 1, ..SandboxConfig::default() });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 2_000, |_| "n".into());
    let run_dir = tmp.path().join("run");
    let child = spawn_import(&sb, tmp.path(), &file, &run_dir);
    interrupt_when_busy(&sb, &child, signal, 1).await;
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report.len(), 2_000, "every row has a line");
    let created = count(&report, "created");
    assert!(created >= 500, "the jobs in flight ran to their end: {created}");
    assert_eq!(created + count(&report, "skipped"), 2_000);
    assert!(report.iter().all(|r| !r[7].contains("was in flight")), "no row is left unknown");
    let failed = run_dir.join("failed.csv");
    assert_eq!(read_csv(&failed).len(), 2_000 - created, "the failed file holds the rows not done");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 130);
    let command = format!("zdbulk import organizations {} --url {}", failed.display(), sb.url);
    assert!(stderr.contains(&command), "prints the command that finishes the run: {stderr}");

    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "organizations", failed.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "created"), 2_000 - created, "only the rows not done are sent");
    let total = sb.api().get("/api/v2/organizations/count.json").await;
    assert_eq!(total.body["count"]["value"], 2_000, "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_lets_the_jobs_in_flight_end_and_the_failed_file_finishes_the_run() {
    interrupt_once_then_finish("-INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_like_ctrl_c() {
    interrupt_once_then_finish("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_at_once_naming_the_rows_in_flight() {
    // Jobs that would take a minute: only a second Ctrl-C ends the run in time.
    let sb = sandbox(SandboxConfig { job_delay_ms: 60_000, ..SandboxConfig::default() });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 2_000, |_| "n".into());
    let run_dir = tmp.path().join("run");
    let child = spawn_import(&sb, tmp.path(), &file, &run_dir);
    interrupt_when_busy(&sb, &child, "-INT", 2).await;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report.len(), 2_000, "every row has a line");
    assert_eq!(count(&report, "skipped"), 2_000);
    let in_flight = report.iter().filter(|r| r[7].contains("was in flight")).count();
    assert_eq!(in_flight, 500, "the five jobs' rows are named as in flight");
    assert!(report[1999][7].starts_with("not sent"), "{:?}", report[1999]);
}
