//! One sandbox per state file, and job ids that never repeat: a second sandbox on a state file
//! in use is refused with an error that says what to do (in-process and through two real
//! `--sandbox` imports at once), and jobs made after a restart on one state file get new ids
//! while the stored jobs still answer.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use zdbulk_sandbox::{self as sandbox, SandboxConfig};

use crate::common::{fast_config, Api, TestSandbox};

fn with_state(path: &Path) -> SandboxConfig {
    SandboxConfig { state_path: Some(path.to_path_buf()), ..fast_config() }
}

/// The error `sandbox::start` gives for this configuration (it must not start).
async fn start_error(config: SandboxConfig) -> String {
    match sandbox::start(config, "127.0.0.1:0".parse().unwrap()).await {
        Ok(_) => panic!("a second sandbox on a state file in use must not start"),
        Err(err) => format!("{err:#}"),
    }
}

/// Queues `organizations/create_many` for these names, waits for it, and returns its id.
async fn create_by_job(api: &Api, names: &[&str]) -> String {
    let orgs: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let a = api.post("/api/v2/organizations/create_many", json!({ "organizations": orgs })).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let id = a.body["job_status"]["id"].as_str().unwrap().to_string();
    assert_eq!(api.wait_job(&id).await["status"], "completed");
    id
}

/// A job's status and number of results, as `GET job_statuses/{id}` answers them.
async fn job_outcome(api: &Api, id: &str) -> (String, usize) {
    let a = api.get(&format!("/api/v2/job_statuses/{id}")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let job = &a.body["job_status"];
    (job["status"].as_str().unwrap().to_string(), job["results"].as_array().unwrap().len())
}

async fn org_names(api: &Api) -> Vec<String> {
    let a = api.get("/api/v2/organizations?page[size]=100").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let mut names: Vec<String> = a.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_second_sandbox_on_a_state_file_in_use_is_refused_until_the_first_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    {
        let first = TestSandbox::start(with_state(&path));
        let created = first
            .api()
            .post("/api/v2/organizations", json!({"organization": {"name": "First's"}}))
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);

        let err = start_error(with_state(&path)).await;
        let expected = format!(
            "another zdbulk sandbox is using {} (pid {}); wait for it to finish, or run \
             `zdbulk sandbox --state {}` once and point the imports at it with --url",
            path.display(),
            std::process::id(),
            path.display()
        );
        assert_eq!(err, expected);
        // The refused sandbox wrote nothing, and the first one still serves.
        assert_eq!(org_names(&first.api()).await, ["First's"]);
    }
    // Stopped: its lock is gone with it (the lock file stays and does not block).
    assert!(dir.path().join("state.json.lock").is_file());
    let second = TestSandbox::start(with_state(&path));
    assert_eq!(org_names(&second.api()).await, ["First's"], "nothing was lost");

    // The embedded sandbox locks its `.zdbulk/sandbox.json` the same way.
    let _embedded = TestSandbox::start(sandbox::embedded_config(dir.path()));
    let err = start_error(sandbox::embedded_config(dir.path())).await;
    let state = dir.path().join(".zdbulk").join("sandbox.json");
    assert!(
        err.starts_with(&format!("another zdbulk sandbox is using {}", state.display())),
        "{err}"
    );
}

#[tokio::test]
async fn job_ids_after_a_restart_are_new_and_stored_jobs_keep_answering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // Every job made so far: its id and how many items it had.
    let mut stored: Vec<(String, usize)> = Vec::new();
    for run in 0..3 {
        let sb = TestSandbox::start(with_state(&path));
        let api = sb.api();
        // Every job made before this start still answers as it ended.
        for (id, results) in &stored {
            assert_eq!(job_outcome(&api, id).await, ("completed".to_string(), *results));
        }
        let a = format!("run {run} a");
        let b = format!("run {run} b");
        let c = format!("run {run} c");
        let first = create_by_job(&api, &[&a]).await;
        let second = create_by_job(&api, &[&b, &c]).await;
        for id in [&first, &second] {
            assert!(!stored.iter().any(|(old, _)| old == id), "{id} was handed out before");
            let hex = id.strip_prefix("V3-").unwrap_or_else(|| panic!("{id}"));
            assert!(hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        stored.push((first, 1));
        stored.push((second, 2));
        // The list holds every job once, newest first.
        let listed = api.get("/api/v2/job_statuses?page[size]=100").await;
        let ids: Vec<&str> = listed.body["job_statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = stored.iter().rev().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, expected);
    }
}

#[tokio::test]
async fn the_first_job_of_two_starts_with_one_fault_seed_differs() {
    let first_job = || async {
        let sb = TestSandbox::start(SandboxConfig { fault_seed: 0, ..fast_config() });
        create_by_job(&sb.api(), &["Only"]).await
    };
    assert_ne!(first_job().await, first_job().await);
}

#[tokio::test]
async fn a_killed_sandbox_leaves_a_lock_file_that_blocks_nobody() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--state"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zdbulk sandbox starts");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    assert!(banner.starts_with("zdbulk sandbox listening on"), "{banner}");
    let lock = dir.path().join("state.json.lock");
    assert_eq!(std::fs::read_to_string(&lock).unwrap().trim(), child.id().to_string());
    let err = start_error(with_state(&path)).await;
    assert!(err.contains(&format!("(pid {})", child.id())), "{err}");

    // SIGKILL: no shutdown, no unlock; the OS drops the lock with the process.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lock.is_file(), "the dead holder's lock file is still there");
    let sb = TestSandbox::start(with_state(&path));
    assert_eq!(sb.api().get("/api/v2/organizations").await.status, 200);
}

/// `zdbulk import organizations orgs.csv --sandbox --quiet` in `dir`, started now.
fn spawn_import(dir: &Path) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ZENDESK_") || key.starts_with("ZDBULK_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .args(["import", "organizations", "orgs.csv", "--sandbox", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zdbulk starts")
}

/// An import with `--sandbox` while another process holds the directory's sandbox state is
/// refused (exit 2) naming the holder, and runs once that process is gone. The holder here is
/// a `zdbulk sandbox --state` on the same file, so the test does not depend on timing.
#[tokio::test]
async fn a_sandbox_import_while_another_process_holds_the_state_exits_2_then_runs() {
    use std::io::{BufRead as _, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("name,external_id\n");
    for i in 0..5 {
        csv.push_str(&format!("Locked Org {i},locked-{i}\n"));
    }
    std::fs::write(tmp.path().join("orgs.csv"), csv).unwrap();
    let state = tmp.path().join(".zdbulk").join("sandbox.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let mut holder = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zdbulk sandbox starts");
    let mut banner = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    assert!(banner.starts_with("zdbulk sandbox listening on"), "{banner}");

    let refused = spawn_import(tmp.path()).wait_with_output().expect("zdbulk ends");
    let err = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(2), "{err}");
    let message = format!(
        "error: failed to start the embedded sandbox: another zdbulk sandbox is using {} (pid {})",
        state.display(),
        holder.id()
    );
    assert!(err.contains(&message), "{err}");
    assert!(err.contains("wait for it to finish, or run `zdbulk sandbox --state"), "{err}");
    assert!(!tmp.path().join("zdbulk-runs").exists(), "nothing was written");

    holder.kill().unwrap();
    holder.wait().unwrap();
    let ran = spawn_import(tmp.path()).wait_with_output().expect("zdbulk ends");
    assert_eq!(ran.status.code(), Some(0), "{}", String::from_utf8_lossy(&ran.stderr));
    let sb = TestSandbox::start(sandbox::embedded_config(tmp.path()));
    let names = org_names(&sb.api()).await;
    let expected: Vec<String> = (0..5).map(|i| format!("Locked Org {i}")).collect();
    assert_eq!(names, expected);
}
