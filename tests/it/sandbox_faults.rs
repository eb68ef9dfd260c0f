//! Fault injection (`--faults`, `--fault-seed`) through HTTP: a 5xx does nothing, a dropped
//! answer hides a write that was done, a slow answer is late, a failed job did a prefix of its
//! items, and one seed gives one fault sequence. (`token-expire` is in `sandbox_auth.rs`.)

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use zdbulk_sandbox::{FaultSpec, SandboxConfig};

use crate::common::{fast_config, TestSandbox};

/// What became of one request sent to a faulty sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The whole answer arrived.
    Answered(u16, String),
    /// The status (if any) arrived, then the connection broke before the body could be read.
    Lost(Option<u16>),
}

/// A raw client: unlike `common::Api` it reports a broken answer instead of panicking or
/// hiding it.
struct Raw {
    base: String,
    client: reqwest::Client,
}

impl Raw {
    fn new(sb: &TestSandbox) -> Raw {
        Raw { base: sb.url.clone(), client: reqwest::Client::new() }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Outcome {
        let auth = base64::engine::general_purpose::STANDARD
            .encode("admin@sandbox.test/token:sandbox-token");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Basic {auth}"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(_) => return Outcome::Lost(None),
        };
        let status = resp.status().as_u16();
        match resp.text().await {
            Ok(text) => Outcome::Answered(status, text),
            Err(_) => Outcome::Lost(Some(status)),
        }
    }

    /// GETs a JSON answer, retrying through injected faults (at most 50 tries).
    async fn get_through(&self, path: &str) -> Value {
        for _ in 0..50 {
            if let Outcome::Answered(200, text) = self.send("GET", path, None).await {
                return serde_json::from_str(&text).unwrap();
            }
        }
        panic!("GET {path} never got through the faults");
    }

    /// Every organization name in the account (cursor walk, retried through faults).
    async fn org_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut path = "/api/v2/organizations?page[size]=100".to_string();
        loop {
            let page = self.get_through(&path).await;
            for o in page["organizations"].as_array().unwrap() {
                names.insert(o["name"].as_str().unwrap().to_string());
            }
            if page["meta"]["has_more"] == false {
                return names;
            }
            let after = page["meta"]["after_cursor"].as_str().unwrap();
            path = format!("/api/v2/organizations?page[size]=100&page[after]={after}");
        }
    }
}

fn faulty(faults: FaultSpec, seed: u64) -> TestSandbox {
    TestSandbox::start(SandboxConfig { faults, fault_seed: seed, ..fast_config() })
}

async fn create_org(raw: &Raw, name: &str) -> Outcome {
    raw.send("POST", "/api/v2/organizations", Some(json!({"organization": {"name": name}}))).await
}

#[tokio::test]
async fn server_errors_answer_500_or_503_on_every_endpoint() {
    let sb = faulty(FaultSpec { server_error: 1.0, ..FaultSpec::default() }, 7);
    let raw = Raw::new(&sb);
    let mut codes = BTreeSet::new();
    let paths =
        ["/api/v2/organizations", "/api/v2/users/count", "/api/v2/job_statuses", "/api/v2/nothing"];
    for i in 0..24 {
        match raw.send("GET", paths[i % paths.len()], None).await {
            Outcome::Answered(code, body) => {
                assert!(code == 500 || code == 503, "answer {i}: {code} {body}");
                let body: Value = serde_json::from_str(&body).unwrap();
                assert!(body["error"].is_string(), "{body}");
                codes.insert(code);
            }
            lost => panic!("answer {i} lost: {lost:?}"),
        }
    }
    assert_eq!(codes, BTreeSet::from([500, 503]), "both codes occur");
    let stats = sb.api().get("/sandbox/stats").await;
    assert_eq!(stats.body["faults"]["5xx"], 24);
}

#[tokio::test]
async fn a_create_answered_5xx_creates_nothing() {
    let sb = faulty(FaultSpec { server_error: 0.5, ..FaultSpec::default() }, 11);
    let raw = Raw::new(&sb);
    let mut created = BTreeSet::new();
    let mut refused = 0;
    for i in 0..40 {
        let name = format!("Maybe {i:02}");
        match create_org(&raw, &name).await {
            Outcome::Answered(201, _) => {
                created.insert(name);
            }
            Outcome::Answered(code, body) => {
                assert!(code == 500 || code == 503, "{name}: {code} {body}");
                refused += 1;
            }
            lost => panic!("{name}: {lost:?}"),
        }
    }
    assert!(!created.is_empty() && refused > 0, "{} created, {refused} refused", created.len());
    assert_eq!(raw.org_names().await, created, "exactly the 201s exist");
}

#[tokio::test]
async fn a_dropped_answer_still_did_its_write() {
    let sb = faulty(FaultSpec { drop: 0.5, ..FaultSpec::default() }, 5);
    let raw = Raw::new(&sb);
    let mut answered = BTreeSet::new();
    let mut lost = BTreeSet::new();
    for i in 0..40 {
        let name = format!("Dropped {i:02}");
        match create_org(&raw, &name).await {
            Outcome::Answered(201, body) => {
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["organization"]["name"], name);
                answered.insert(name);
            }
            Outcome::Lost(status) => {
                // The head may arrive (201) before the break; it never claims anything else.
                assert!(matches!(status, None | Some(201)), "{name}: {status:?}");
                lost.insert(name);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(!answered.is_empty() && !lost.is_empty(), "{answered:?} / {lost:?}");
    let all: BTreeSet<String> = answered.union(&lost).cloned().collect();
    assert_eq!(all.len(), 40);
    assert_eq!(raw.org_names().await, all, "lost answers hid writes that were done");
    let stats = sb.api().get("/sandbox/stats").await;
    assert!(stats.body["faults"]["drop"].as_u64().unwrap() >= lost.len() as u64);
}

#[tokio::test]
async fn a_slow_answer_is_late() {
    let sb = faulty(FaultSpec { slow: 1.0, ..FaultSpec::default() }, 1);
    let raw = Raw::new(&sb);
    let start = Instant::now();
    let outcome = raw.send("GET", "/api/v2/organizations/count", None).await;
    // The delay is the behaviour under test, so a lower bound is the assertion; no upper one.
    assert!(start.elapsed() >= Duration::from_millis(1400), "{:?}", start.elapsed());
    assert!(matches!(outcome, Outcome::Answered(200, _)), "{outcome:?}");
    let stats = sb.api().get("/sandbox/stats").await;
    assert_eq!(stats.body["faults"]["slow"], 1);
}

#[tokio::test]
async fn a_failed_job_did_a_prefix_of_its_items() {
    let sb = faulty(FaultSpec { job_fail: 1.0, ..FaultSpec::default() }, 3);
    let api = sb.api();
    let mut jobs = Vec::new();
    for job in 0..8 {
        let names: Vec<String> = (0..20).map(|i| format!("Job {job} item {i:02}")).collect();
        let orgs: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
        let a = api.post("/api/v2/organizations/create_many", json!({"organizations": orgs})).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let done = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["results"], Value::Null);
        assert_eq!(done["total"], 20);
        assert!(done["message"].as_str().unwrap().starts_with("Failed at "), "{done}");
        jobs.push(names);
    }
    let existing = Raw::new(&sb).org_names().await;
    let mut prefix_lengths = Vec::new();
    for (job, names) in jobs.iter().enumerate() {
        let exists: Vec<bool> = names.iter().map(|n| existing.contains(n)).collect();
        let done = exists.iter().take_while(|e| **e).count();
        assert!(exists[done..].iter().all(|e| !e), "job {job} did a non-prefix: {exists:?}");
        prefix_lengths.push(done);
    }
    // The cut points vary (else a non-prefix could hide behind "all or nothing").
    let distinct: BTreeSet<usize> = prefix_lengths.iter().copied().collect();
    assert!(distinct.len() > 2, "prefix lengths {prefix_lengths:?}");
    let stats = api.get("/sandbox/stats").await;
    assert_eq!(stats.body["jobs_run"], 8);
    assert_eq!(stats.body["faults"]["job-fail"], 8, "failed jobs are counted as faults");
}

/// The outcomes of a fixed request sequence against a sandbox with the given fault seed.
async fn fault_sequence(seed: u64) -> Vec<Outcome> {
    let faults = FaultSpec { server_error: 0.3, drop: 0.3, ..FaultSpec::default() };
    let sb = faulty(faults, seed);
    let raw = Raw::new(&sb);
    let mut outcomes = Vec::new();
    for i in 0..30 {
        let outcome = if i % 3 == 0 {
            create_org(&raw, &format!("Seq {i}")).await
        } else {
            raw.send("GET", "/api/v2/organizations/count", None).await
        };
        // Bodies carry ids and times; the fault sequence is the statuses and the losses.
        outcomes.push(match outcome {
            Outcome::Answered(code, _) => Outcome::Answered(code, String::new()),
            lost => lost,
        });
    }
    outcomes
}

#[tokio::test]
async fn one_fault_seed_gives_one_fault_sequence() {
    let first = fault_sequence(42).await;
    let second = fault_sequence(42).await;
    assert_eq!(first, second);
    let kinds: BTreeSet<String> = first
        .iter()
        .map(|o| match o {
            Outcome::Answered(code, _) => code.to_string(),
            Outcome::Lost(_) => "lost".into(),
        })
        .collect();
    assert!(kinds.contains("lost") && kinds.len() >= 3, "faults of every kind occur: {kinds:?}");
    assert_ne!(fault_sequence(43).await, first, "another seed gives another sequence");
}
