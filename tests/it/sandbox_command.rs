//! `zdbulk sandbox` as a user runs it: the real binary, its printed URL, its flags.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::common::{zdbulk, Api, Auth};

/// The sandbox binary running in the background; killed when dropped.
struct Running {
    child: Child,
    url: String,
    banner: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .arg("sandbox")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zdbulk sandbox starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a banner line").expect("utf-8");
    let url = first
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("first line names the URL: {first}"))
        .to_string();
    let banner: Vec<String> = lines.take(4).map(|l| l.expect("utf-8")).collect();
    Running { child, url, banner }
}

#[tokio::test]
async fn prints_its_url_and_credentials_and_serves() {
    let sb = spawn(&[]);
    let all = sb.banner.join("\n");
    assert!(all.contains("admin@sandbox.test"), "{all}");
    assert!(all.contains("sandbox-token"), "{all}");
    assert!(all.contains("zdbulk-sandbox"), "{all}");
    let api = Api::new(&sb.url, Auth::Basic("admin@sandbox.test".into(), "sandbox-token".into()));
    let a = api.get("/api/v2/job_statuses.json").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.header("x-rate-limit"), "700");
}

#[tokio::test]
async fn rate_limit_flag_sets_the_budget() {
    let sb = spawn(&["--rate-limit", "42"]);
    let api = Api::new(&sb.url, Auth::Basic("admin@sandbox.test".into(), "sandbox-token".into()));
    let a = api.get("/api/v2/job_statuses.json").await;
    assert_eq!(a.header("x-rate-limit"), "42");
    assert_eq!(a.header("x-rate-limit-remaining"), "41");
}

#[tokio::test]
async fn no_bulk_imports_flag_refuses_bulk_user_writes_only() {
    let sb = spawn(&["--no-bulk-imports"]);
    let api = Api::new(&sb.url, Auth::Basic("admin@sandbox.test".into(), "sandbox-token".into()));
    let a = api.post("/api/v2/users/create_many", json!({"users": [{"name": "A"}]})).await;
    assert_eq!(a.status, 403, "{:?}", a.body);
    assert_eq!(a.body["description"], "Data imports are not enabled for this account");
    let a = api.post("/api/v2/users", json!({"user": {"name": "A"}})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
}

#[test]
fn bad_fault_spec_is_a_usage_error() {
    zdbulk()
        .args(["sandbox", "--addr", "127.0.0.1:0", "--faults", "meteor=0.5"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("error: --faults: unknown fault 'meteor'"));
}

#[test]
fn zero_time_scale_is_a_usage_error() {
    zdbulk()
        .args(["sandbox", "--addr", "127.0.0.1:0", "--time-scale", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--time-scale 0 must be a number greater than 0"));
}
