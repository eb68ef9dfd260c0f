//! `zdbulk resume` after the other ways a run stops (issue 8): Ctrl-C, SIGTERM, an API that
//! went away (exit 3); what it refuses; and what importing the file again (instead of
//! resuming) does after a kill.

use std::path::Path;
use std::time::{Duration, Instant};

use zdbulk_sandbox::SandboxConfig;

use crate::common::TestSandbox;
use crate::import::{count, read_csv, stats, writes};
use crate::resume::{
    assert_every_row_once, assert_orgs_as_file, assert_resume_again_changes_nothing, faulty,
    finish, import_args, journal_lines, resume_args, seed, spawn, wait, wait_for_journal,
    write_orgs, Creds,
};

/// Slow-ish jobs and no faults: for tests that count exactly.
fn calm(state: Option<&Path>) -> SandboxConfig {
    SandboxConfig {
        seed_json: Some(seed()),
        job_delay_ms: 300,
        job_item_ms: 4,
        rate_limit: 100_000,
        state_path: state.map(Path::to_path_buf),
        ..SandboxConfig::default()
    }
}

/// Waits (at most 60 s) until the sandbox has no job queued or running.
async fn jobs_drained(sb: &TestSandbox) {
    let end = Instant::now() + Duration::from_secs(60);
    while stats(sb).await["jobs_in_flight"].as_u64() != Some(0) {
        assert!(Instant::now() < end, "the sandbox's jobs never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `signal` (`-INT`, `-TERM`) to a process.
fn signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill").args([signal, &pid.to_string()]).status();
    assert!(sent.unwrap().success());
}

/// A run stopped by `sig` once its first job is queued exits 130; resume finishes it: every row
/// once, created once, the account as the file says.
async fn stopped_by_signal_then_resumed(sig: &str, seed: u64) {
    let sb = TestSandbox::start(faulty(seed));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let n = 600;
    write_orgs(&file, n, "signal");
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "4"];
    let import = import_args("organizations", &file, &sb.url, &run_dir, &more);
    let child = spawn(tmp.path(), &import, Creds::Token);
    wait_for_journal(&run_dir, "job");
    signal(child.id(), sig);
    assert_eq!(wait(child, Duration::from_secs(120)), 130, "a stopped run exits 130");
    let stopped = read_csv(&run_dir.join("report.csv"));
    assert!(count(&stopped, "skipped") > 0, "the signal stopped the run early");

    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "{out}");
    let report = assert_every_row_once(&run_dir, n);
    assert_eq!(count(&report, "created"), n);
    assert!(read_csv(&run_dir.join("failed.csv")).is_empty(), "the failed file is rewritten");
    assert_orgs_as_file(&sb, n, "signal").await;
    assert_resume_again_changes_nothing(&sb, tmp.path(), &run_dir, Creds::Token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_then_resume_finishes_the_run() {
    stopped_by_signal_then_resumed("-INT", 21).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_resume_finishes_the_run() {
    stopped_by_signal_then_resumed("-TERM", 22).await;
}

/// The sandbox stops mid-run (its state saved): the run exits 3. Started again on the same
/// state at another address, `resume --url` finishes the run with nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_went_away_exits_3_and_resume_finishes_on_its_return() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("sandbox.json");
    let sb = TestSandbox::start(calm(Some(&state)));
    let file = tmp.path().join("orgs.csv");
    let n = 600;
    write_orgs(&file, n, "gone");
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "4"];
    let import = import_args("organizations", &file, &sb.url, &run_dir, &more);
    let child = spawn(tmp.path(), &import, Creds::Token);
    wait_for_journal(&run_dir, "job");
    drop(sb);
    assert_eq!(wait(child, Duration::from_secs(120)), 3, "an API that stopped answering: exit 3");

    let sb = TestSandbox::start(calm(Some(&state)));
    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &["--url", &sb.url]), Creds::Token);
    assert_eq!(code, 0, "{out}");
    let report = assert_every_row_once(&run_dir, n);
    assert_eq!(count(&report, "created"), n);
    assert_orgs_as_file(&sb, n, "gone").await;
}

/// Resuming a run that finished with failed rows says so, points to its failed file, sends
/// nothing and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_of_a_finished_run_sends_nothing_and_says_so() {
    let sb = TestSandbox::start(SandboxConfig { job_delay_ms: 0, job_item_ms: 0, ..calm(None) });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 30, "done");
    // One row the account refuses (a dropdown value it does not have): exit 1.
    let text = std::fs::read_to_string(&file).unwrap().replacen(",free,", ",gold,", 1);
    std::fs::write(&file, text).unwrap();
    let run_dir = tmp.path().join("run");
    let (code, out) = finish(
        tmp.path(),
        &import_args("organizations", &file, &sb.url, &run_dir, &[]),
        Creds::Token,
    );
    assert_eq!(code, 1, "{out}");
    let writes_before = writes(&stats(&sb).await);
    let report = std::fs::read(run_dir.join("report.csv")).unwrap();
    let journal = journal_lines(&run_dir, "finish");
    for _ in 0..2 {
        let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("the run finished (exit code 1); nothing to resume"), "{out}");
        assert!(out.contains("failed.csv"), "points to the failed rows: {out}");
    }
    assert_eq!(writes(&stats(&sb).await), writes_before, "nothing was sent");
    assert_eq!(std::fs::read(run_dir.join("report.csv")).unwrap(), report);
    assert_eq!(journal_lines(&run_dir, "finish"), journal, "the journal is left as it was");
}

/// What resume refuses, with exit 2 and nothing sent: a directory that is not a run's, a dry
/// run's, and a run whose input file changed since it started (restored, it resumes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_a_non_run_dir_a_dry_run_and_an_edited_input() {
    let sb = TestSandbox::start(calm(None));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 300, "edit");

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, out) = finish(tmp.path(), &resume_args(&empty, &[]), Creds::Token);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not a run directory"), "{out}");

    let dry = tmp.path().join("dry");
    let (code, out) = finish(
        tmp.path(),
        &import_args("organizations", &file, &sb.url, &dry, &["--dry-run"]),
        Creds::Token,
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = finish(tmp.path(), &resume_args(&dry, &[]), Creds::Token);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("dry run"), "{out}");

    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "2"];
    let child = spawn(
        tmp.path(),
        &import_args("organizations", &file, &sb.url, &run_dir, &more),
        Creds::Token,
    );
    wait_for_journal(&run_dir, "job");
    signal(child.id(), "-INT");
    assert_eq!(wait(child, Duration::from_secs(120)), 130);
    jobs_drained(&sb).await;
    let writes_before = writes(&stats(&sb).await);
    write_orgs(&file, 301, "edit");
    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("changed since the run started"), "{out}");
    assert_eq!(writes(&stats(&sb).await), writes_before, "nothing was sent");

    write_orgs(&file, 300, "edit");
    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "the file as it was resumes: {out}");
    assert_every_row_once(&run_dir, 300);
    assert_orgs_as_file(&sb, 300, "edit").await;
}

/// Kills an import of `file` once some of its jobs have ended and waits for the account's
/// jobs to end; returns how many of the file's organizations exist.
async fn kill_midway(sb: &TestSandbox, dir: &Path, import: &[String], run_dir: &Path) -> usize {
    let mut child = spawn(dir, import, Creds::Token);
    let end = Instant::now() + Duration::from_secs(60);
    while journal_lines(run_dir, "results").1 < 3 {
        assert!(Instant::now() < end, "no job ended");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    jobs_drained(sb).await;
    let total = sb.api().get("/api/v2/organizations/count.json").await;
    total.body["count"]["value"].as_u64().unwrap() as usize - 10
}

/// Importing the file again (instead of resuming) after a killed upsert run: what the killed
/// run created is `unchanged`, the rest `created`, nothing failed or twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimporting_after_a_killed_upsert_reports_what_it_made_unchanged() {
    let sb = TestSandbox::start(calm(None));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let n = 500;
    write_orgs(&file, n, "again");
    let more = ["--batch-size", "25", "--max-jobs", "2"];
    let killed = tmp.path().join("killed");
    let import = import_args("organizations", &file, &sb.url, &killed, &more);
    let made = kill_midway(&sb, tmp.path(), &import, &killed).await;
    assert!(made > 0 && made < n, "the kill landed mid-run: {made}");

    let again = tmp.path().join("again");
    let import = import_args("organizations", &file, &sb.url, &again, &more);
    let (code, out) = finish(tmp.path(), &import, Creds::Token);
    assert_eq!(code, 0, "{out}");
    let report = assert_every_row_once(&again, n);
    assert_eq!(count(&report, "unchanged"), made);
    assert_eq!(count(&report, "created"), n - made);
    assert_orgs_as_file(&sb, n, "again").await;
}

/// Importing the file again with `--mode create` after a killed create run: each row the
/// killed run made fails as already taken, and the message points to the way out (upsert).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreating_after_a_killed_create_run_says_already_taken_and_points_to_upsert() {
    let sb = TestSandbox::start(calm(None));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let n = 500;
    write_orgs(&file, n, "again");
    let more = ["--batch-size", "25", "--max-jobs", "2", "--mode", "create"];
    let killed = tmp.path().join("killed");
    let import = import_args("organizations", &file, &sb.url, &killed, &more);
    let made = kill_midway(&sb, tmp.path(), &import, &killed).await;
    assert!(made > 0 && made < n, "the kill landed mid-run: {made}");

    let again = tmp.path().join("again");
    let import = import_args("organizations", &file, &sb.url, &again, &more);
    let (code, out) = finish(tmp.path(), &import, Creds::Token);
    assert_eq!(code, 1, "{out}");
    let report = read_csv(&again.join("report.csv"));
    assert_eq!(report.len(), n);
    assert_eq!(count(&report, "failed"), made);
    assert_eq!(count(&report, "created"), n - made);
    for r in report.iter().filter(|r| r[3] == "failed") {
        assert!(r[7].contains("already been taken"), "{r:?}");
        // reconcile::outcome_of names upsert; it does not name `zdbulk resume` (issue 8 report).
        assert!(r[7].contains("--mode upsert"), "{r:?}");
    }
    assert_orgs_as_file(&sb, n, "again").await;
}

/// A process killed (or a machine that lost power) while writing a journal line leaves it
/// torn: resume ignores it, and the lines it appends do not glue onto it, so a second resume
/// (or undo) still reads the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_journal_line_does_not_break_a_second_resume() {
    let sb = TestSandbox::start(calm(None));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 300, "torn");
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "2"];
    let import = import_args("organizations", &file, &sb.url, &run_dir, &more);
    kill_midway(&sb, tmp.path(), &import, &run_dir).await;
    let journal = run_dir.join("journal.ndjson");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"type\":\"results\",\"batch\":9");
    std::fs::write(&journal, text).unwrap();

    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "{out}");
    let (code, out) = finish(tmp.path(), &resume_args(&run_dir, &[]), Creds::Token);
    assert_eq!(code, 0, "the journal is still readable: {out}");
    assert!(out.contains("the run finished (exit code 0)"), "{out}");
    assert_every_row_once(&run_dir, 300);
    assert_orgs_as_file(&sb, 300, "torn").await;
}
