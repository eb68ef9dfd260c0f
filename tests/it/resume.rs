//! `zdbulk resume` through the real binary against a faulty sandbox on 127.0.0.1:0 (issue 8):
//! organization imports killed with SIGKILL at seeded random points are resumed until they end,
//! and the account then holds what the file asks, each record once. The helpers here (spawning,
//! killing, checking the report and the account) are shared with `resume_users.rs` (users with
//! memberships, OAuth) and `resume_stop.rs` (Ctrl-C, SIGTERM, exit 3, refusals, re-imports).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};
use zdbulk_sandbox::{FaultSpec, SandboxConfig, SAMPLE_SEED};

use crate::common::TestSandbox;
use crate::import::{count, get_through_faults, read_csv, stats, writes};

/// How the binary authenticates.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Creds {
    /// The sandbox's API token.
    Token,
    /// The sandbox's OAuth client (client-credentials grant).
    OAuth,
}

/// Ten organizations (`o-0`…`o-9`, named `Org 0`…) for users to join, and the sample fields.
pub(crate) fn seed() -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    seed["organizations"] = (0..10)
        .map(|i| json!({"name": format!("Org {i}"), "external_id": format!("o-{i}")}))
        .collect();
    seed.to_string()
}

/// Jobs slow enough for kills to land mid-flight (a 25-row job takes ~0.4 s), every fault the
/// sandbox has, and a request budget that never binds.
pub(crate) fn faulty(fault_seed: u64) -> SandboxConfig {
    SandboxConfig {
        seed_json: Some(seed()),
        job_delay_ms: 300,
        job_item_ms: 4,
        rate_limit: 100_000,
        faults: FaultSpec {
            server_error: 0.03,
            drop: 0.03,
            slow: 0.005,
            job_fail: 0.05,
            token_expire: 0.0,
        },
        fault_seed,
        ..SandboxConfig::default()
    }
}

/// `zdbulk ARGS` in `dir`, with no `ZENDESK_*`/`ZDBULK_*` variable but the credentials asked
/// for; output goes to `dir/out-N.txt` (a pipe nobody reads could block the child).
pub(crate) fn spawn(dir: &Path, args: &[String], creds: Creds) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ZENDESK_") || key.starts_with("ZDBULK_") {
            cmd.env_remove(key);
        }
    }
    match creds {
        Creds::Token => {
            cmd.env("ZENDESK_EMAIL", "admin@sandbox.test").env("ZENDESK_API_TOKEN", "sandbox-token")
        }
        Creds::OAuth => cmd
            .env("ZENDESK_CLIENT_ID", "zdbulk-sandbox")
            .env("ZENDESK_CLIENT_SECRET", "sandbox-secret"),
    };
    let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let out = std::fs::File::create(dir.join(format!("out-{n}.txt"))).unwrap();
    cmd.current_dir(dir)
        .args(args)
        .env("ZDBULK_TEST_NO_RETRY_DELAY", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("zdbulk starts")
}

/// Runs `zdbulk ARGS` to its end: exit code and output (stdout and stderr together).
pub(crate) fn finish(dir: &Path, args: &[String], creds: Creds) -> (i32, String) {
    let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let code = wait(spawn(dir, args, creds), Duration::from_secs(120));
    let out = std::fs::read_to_string(dir.join(format!("out-{n}.txt"))).unwrap_or_default();
    (code, out)
}

/// Waits for `child` (at most `limit`, then kills it and fails): its exit code, -9 if killed.
pub(crate) fn wait(mut child: Child, limit: Duration) -> i32 {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-9);
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("zdbulk did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Journal lines of a run so far, and how many are of `kind` (`job`, `results`, …).
pub(crate) fn journal_lines(run_dir: &Path, kind: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(run_dir.join("journal.ndjson")).unwrap_or_default();
    let tag = format!("\"type\":\"{kind}\"");
    (text.lines().count(), text.lines().filter(|l| l.contains(&tag)).count())
}

/// Waits (at most 60 s) until the run's journal has a line of `kind`.
pub(crate) fn wait_for_journal(run_dir: &Path, kind: &str) {
    let end = Instant::now() + Duration::from_secs(60);
    while journal_lines(run_dir, kind).1 == 0 {
        assert!(Instant::now() < end, "the journal never had a {kind} line");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The command line that resumes `run_dir`.
pub(crate) fn resume_args(run_dir: &Path, more: &[&str]) -> Vec<String> {
    let mut a = vec!["resume".to_string(), run_dir.display().to_string(), "--quiet".into()];
    a.extend(more.iter().map(|s| s.to_string()));
    a
}

/// Starts `import` (args), then resumes it, SIGKILLing the first `kills` processes after a
/// seeded random 100–1500 ms (once the journal has started), then resumes until the run ends
/// (an exit 3 from a fault storm is resumed again). Returns the exit codes seen, in order.
pub(crate) fn kill_and_resume(
    dir: &Path,
    import: &[String],
    run_dir: &Path,
    creds: Creds,
    seed: u64,
    kills: usize,
) -> Vec<i32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut codes = Vec::new();
    let mut done = false;
    for cycle in 0..kills {
        let args = if cycle == 0 { import.to_vec() } else { resume_args(run_dir, &[]) };
        let mut child = spawn(dir, &args, creds);
        let kill_at = Instant::now() + Duration::from_millis(rng.gen_range(100..1500));
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-9);
            }
            // A resume needs the run's first line: the first kill waits for it.
            if Instant::now() >= kill_at && journal_lines(run_dir, "start").1 > 0 {
                child.kill().unwrap();
                child.wait().unwrap();
                break -9;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        codes.push(code);
        if code == 0 || code == 1 {
            done = true;
            break;
        }
    }
    assert!(codes.contains(&-9), "no kill landed before the run ended: {codes:?}");
    for _ in 0..5 {
        if done {
            break;
        }
        let (code, out) = finish(dir, &resume_args(run_dir, &[]), creds);
        codes.push(code);
        assert!(code == 0 || code == 3, "resume ends with 0 (or 3 in a fault storm): {out}");
        done = code == 0;
    }
    assert_eq!(codes.last(), Some(&0), "the run ends with every row done: {codes:?}");
    let kinds = ["resume", "job", "found"].map(|k| journal_lines(run_dir, k).1);
    eprintln!("exit codes {codes:?}; journal resume/job/found lines {kinds:?}");
    codes
}

/// Asserts the report has every input row (2..=n+1) exactly once, none failed, invalid or
/// skipped; returns it.
pub(crate) fn assert_every_row_once(run_dir: &Path, n: usize) -> Vec<Vec<String>> {
    let report = read_csv(&run_dir.join("report.csv"));
    let rows: Vec<usize> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(rows, (2..n + 2).collect::<Vec<_>>(), "every row once, in input order");
    let bad: Vec<&Vec<String>> =
        report.iter().filter(|r| !["created", "updated", "unchanged"].contains(&&*r[3])).collect();
    assert!(bad.is_empty(), "no row failed or skipped: {:?}", &bad[..bad.len().min(5)]);
    report
}

/// Every record of `what` (organizations, users, organization_memberships), all pages.
pub(crate) async fn all(sb: &TestSandbox, what: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v2/{what}.json?page%5Bsize%5D=100");
    loop {
        let page = get_through_faults(&sb.url, &path).await;
        out.extend(page[what].as_array().cloned().unwrap_or_default());
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == json!(true) => {
                path = next.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
            }
            _ => return out,
        }
    }
}

/// Records by a key (`external_id`, `email`), failing if any key is held twice.
pub(crate) fn by_key(records: Vec<Value>, key: &str) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for r in records {
        let k = r[key].as_str().map(str::to_lowercase).unwrap_or_default();
        if let Some(twice) = map.insert(k.clone(), r) {
            panic!("{key} {k} is held by two records, one is {twice}");
        }
    }
    map
}

/// A file of `n` organizations with notes and custom fields of four types.
pub(crate) fn write_orgs(path: &Path, n: usize, notes: &str) {
    crate::import::write_orgs(path, n, |i| format!("{notes} {i}"));
}

/// Asserts the account holds exactly the organizations of `write_orgs(_, n, notes)`, each once,
/// with the file's values.
pub(crate) async fn assert_orgs_as_file(sb: &TestSandbox, n: usize, notes: &str) {
    // The seed's own organizations (`o-N`) are not the file's.
    let orgs: Vec<Value> = all(sb, "organizations")
        .await
        .into_iter()
        .filter(|o| !o["external_id"].as_str().is_some_and(|e| e.starts_with("o-")))
        .collect();
    let orgs = by_key(orgs, "external_id");
    assert_eq!(orgs.len(), n, "no organization created twice or missed");
    for i in 0..n {
        let o = &orgs[&format!("ext-{i}")];
        assert_eq!(o["name"], format!("Org {i:05}"), "{o}");
        assert_eq!(o["notes"], format!("{notes} {i}"), "{o}");
        let f = &o["organization_fields"];
        assert_eq!(f["tier"], ["free", "pro", "enterprise"][i % 3], "{o}");
        assert_eq!(f["seats"], json!(i % 500), "{o}");
        // Dates come back as midnight UTC timestamps, as Zendesk answers them.
        let date = format!("2027-{:02}-{:02}T00:00:00", i % 12 + 1, i % 28 + 1);
        assert!(f["renewal_date"].as_str().is_some_and(|d| d.starts_with(&date)), "{o}");
        assert_eq!(f["partner"], json!(i % 4 == 0), "{o}");
    }
}

/// `import organizations FILE --url URL --run-dir RUN --quiet` plus `more`.
pub(crate) fn import_args(
    resource: &str,
    file: &Path,
    url: &str,
    run_dir: &Path,
    more: &[&str],
) -> Vec<String> {
    let mut a: Vec<String> = vec!["import".into(), resource.into(), file.display().to_string()];
    a.extend(["--url".into(), url.into(), "--run-dir".into(), run_dir.display().to_string()]);
    a.push("--quiet".into());
    a.extend(more.iter().map(|s| s.to_string()));
    a
}

/// After the run ended, resuming it again is safe: it says the run finished, sends nothing,
/// and leaves the report as it was.
pub(crate) async fn assert_resume_again_changes_nothing(
    sb: &TestSandbox,
    dir: &Path,
    run_dir: &Path,
    creds: Creds,
) {
    let writes_before = writes(&stats(sb).await);
    let report = std::fs::read(run_dir.join("report.csv")).unwrap();
    let (code, out) = finish(dir, &resume_args(run_dir, &[]), creds);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the run finished (exit code 0); nothing to resume"), "{out}");
    assert_eq!(writes(&stats(sb).await), writes_before, "nothing was sent");
    assert_eq!(std::fs::read(run_dir.join("report.csv")).unwrap(), report);
}

/// Organizations killed at random points and resumed, under every fault, for one seed.
async fn organizations_killed_and_resumed(seed: u64, mode: &str) {
    let sb = TestSandbox::start(faulty(seed));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let n = 700;
    write_orgs(&file, n, "killed");
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "4", "--mode", mode];
    let import = import_args("organizations", &file, &sb.url, &run_dir, &more);
    let codes = kill_and_resume(tmp.path(), &import, &run_dir, Creds::Token, seed, 4);
    let report = assert_every_row_once(&run_dir, n);
    // Into an empty account, every row is a create, whichever process made it.
    assert_eq!(count(&report, "created"), n, "{codes:?}");
    assert!(read_csv(&run_dir.join("failed.csv")).is_empty(), "no failed row");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 0);
    assert_orgs_as_file(&sb, n, "killed").await;
    assert_resume_again_changes_nothing(&sb, tmp.path(), &run_dir, Creds::Token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_organizations_upsert_seed_1() {
    organizations_killed_and_resumed(1, "upsert").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_organizations_upsert_seed_2() {
    organizations_killed_and_resumed(2, "upsert").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_organizations_create_seed_3() {
    organizations_killed_and_resumed(3, "create").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_organizations_create_seed_4() {
    organizations_killed_and_resumed(4, "create").await;
}
