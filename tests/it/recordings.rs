//! Replays the real Zendesk exchanges of `tests/fixtures/zendesk-recordings/` against the sandbox.
//!
//! Each recording's requests are sent in order to a fresh sandbox, with the ids, job ids and
//! cursors the sandbox assigned put in place of the recorded ones. Every answer must have the
//! recorded status and the same JSON keys and value types (ids, timestamps and other values
//! aside), and keep the recorded rate-limit and `Location` headers. Records that existed on
//! the recording account before the test (referenced but never created in the file) are
//! created in the sandbox first, and lists are given enough records to compare against.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use futures::StreamExt as _;

use crate::common::{Answer, Api, Auth, TestSandbox};

/// Recordings of endpoints the sandbox does not have (incremental exports): not among the
/// fixtures, and skipped should they be added.
const NOT_COVERED: &[&str] = &["UsersIncrementalTest."];

/// Keys the sandbox sends that older recordings lack: `job_type` appears only in the 2024
/// recordings of job statuses.
const ALLOWED_EXTRA_KEYS: &[&str] = &["job_type"];

fn recordings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zendesk-recordings")
}

fn recording_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(recordings_dir())
        .expect("tests/fixtures/zendesk-recordings is in the checkout")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".decoded.json"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !NOT_COVERED.iter().any(|prefix| name.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// Whether a scalar looks like a record id (Zendesk ids are long integers) or a job id.
fn is_id_like(s: &str) -> bool {
    (s.len() >= 8 && s.bytes().all(|b| b.is_ascii_digit())) || s.starts_with("V3-")
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn is_mapped_key(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key == "after_cursor" || key == "before_cursor"
}

/// Learns recorded → actual for ids and cursors by walking both answers side by side.
fn learn(map: &mut HashMap<String, String>, recorded: &Value, actual: &Value) {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (key, rv) in r {
                let Some(av) = a.get(key) else { continue };
                if is_mapped_key(key) {
                    if let (Some(rs), Some(as_)) = (scalar(rv), scalar(av)) {
                        map.entry(rs).or_insert(as_);
                        continue;
                    }
                }
                learn(map, rv, av);
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            for (rv, av) in r.iter().zip(a) {
                learn(map, rv, av);
            }
        }
        _ => {}
    }
}

/// Ids that answers of the recording introduce (so the file does not need them beforehand).
fn introduced(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if is_mapped_key(k) {
                    if let Some(s) = scalar(v) {
                        out.insert(s);
                    }
                }
                introduced(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| introduced(v, out)),
        _ => {}
    }
}

fn rewrite_json(map: &HashMap<String, String>, v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), rewrite_json(map, v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| rewrite_json(map, v)).collect()),
        Value::Number(n) => match map.get(&n.to_string()).and_then(|s| s.parse::<u64>().ok()) {
            Some(id) => json!(id),
            None => v.clone(),
        },
        Value::String(s) => map.get(s).map(|m| json!(m)).unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

/// The recorded URI as a path and query for the sandbox, ids and cursors replaced.
fn rewrite_uri(map: &HashMap<String, String>, uri: &str) -> String {
    let url = url::Url::parse(uri).expect("recorded URI parses");
    let path: Vec<String> = url
        .path()
        .split('/')
        .map(|seg| {
            let (stem, ext) = match seg.strip_suffix(".json") {
                Some(stem) => (stem, ".json"),
                None => (seg, ""),
            };
            format!("{}{ext}", map.get(stem).map(String::as_str).unwrap_or(stem))
        })
        .collect();
    let mut out = path.join("/");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let mapped: Vec<String> = v
                .split(',')
                .map(|part| map.get(part).cloned().unwrap_or_else(|| part.to_string()))
                .collect();
            (k.into_owned(), mapped.join(","))
        })
        .collect();
    if !pairs.is_empty() {
        out.push('?');
        out.push_str(&serde_urlencoded::to_string(&pairs).expect("query encodes"));
    }
    out
}

/// Compares keys and value types; `null` on either side matches any type (nullable fields,
/// and records that differ between the recording account and the sandbox).
fn compare(path: &str, recorded: &Value, actual: &Value, problems: &mut Vec<String>) {
    match (recorded, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(r), Value::Object(a)) => {
            for key in r.keys() {
                if !a.contains_key(key) {
                    problems.push(format!("{path}: key '{key}' missing"));
                }
            }
            for key in a.keys() {
                if !r.contains_key(key) && !ALLOWED_EXTRA_KEYS.contains(&key.as_str()) {
                    problems.push(format!("{path}: extra key '{key}'"));
                }
            }
            for (key, rv) in r {
                if let Some(av) = a.get(key) {
                    compare(&format!("{path}.{key}"), rv, av, problems);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if !r.is_empty() && a.is_empty() {
                problems.push(format!("{path}: recorded {} items, sandbox none", r.len()));
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                compare(&format!("{path}[{i}]"), rv, av, problems);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (r, a) => problems.push(format!("{path}: recorded {r}, sandbox {a}")),
    }
}

fn job_rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "working" => 1,
        _ => 2,
    }
}

/// Which collection a request path is about, for records the recording assumed existed.
fn collection_of(path: &str) -> Option<&'static str> {
    for c in ["organization_fields", "user_fields", "organizations", "users"] {
        if path.starts_with(&format!("/api/v2/{c}")) {
            return Some(c);
        }
    }
    None
}

async fn create_existing(api: &Api, collection: &str, n: usize) -> String {
    let a = match collection {
        "organizations" => {
            api.post("/api/v2/organizations.json", json!({"organization": {"name": format!("Existing org {n}")}}))
                .await
        }
        "users" => api.post("/api/v2/users.json", json!({"user": {"name": format!("Existing user {n}")}})).await,
        "organization_fields" => {
            api.post(
                "/api/v2/organization_fields.json",
                json!({"organization_field": {"type": "text", "key": format!("existing_{n}"), "title": "Existing"}}),
            )
            .await
        }
        _ => {
            api.post(
                "/api/v2/user_fields.json",
                json!({"user_field": {"type": "text", "key": format!("existing_{n}"), "title": "Existing"}}),
            )
            .await
        }
    };
    assert_eq!(a.status, 201, "creating an existing {collection}: {:?}", a.body);
    let key = collection.trim_end_matches('s').to_string();
    a.body[&key]["id"].to_string()
}

/// Gives lists something to show: 120 organizations and users with optional fields set,
/// as a seed so that no job time is spent on them.
fn population() -> String {
    let orgs: Vec<Value> = (0..120)
        .map(|i| {
            json!({"name": format!("Populated org {i}"), "external_id": format!("pop-{i}"),
                   "notes": "n", "details": "d", "tags": ["t"], "domain_names": [format!("d{i}.test")]})
        })
        .collect();
    let users: Vec<Value> = (0..120)
        .map(|i| {
            json!({"name": format!("Populated user {i}"),
                   "email": format!("pop{i}@example.test"), "external_id": format!("upop-{i}")})
        })
        .collect();
    json!({"organizations": orgs, "users": users}).to_string()
}

/// Records a recording assumes exist beyond ids: an organization found by `search?external_id=`.
async fn create_searched(api: &Api, exchanges: &[Value]) {
    for ex in exchanges {
        let uri = ex["request"]["uri"].as_str().unwrap_or("");
        let url = url::Url::parse(uri).expect("recorded URI parses");
        if !url.path().starts_with("/api/v2/organizations/search") {
            continue;
        }
        let found = ex["response"]["body"]["organizations"].as_array().map_or(0, Vec::len);
        for (k, v) in url.query_pairs() {
            if k == "external_id" && found > 0 {
                let body =
                    json!({"organization": {"name": format!("Searched {v}"), "external_id": v}});
                let a = api.post("/api/v2/organizations.json", body).await;
                assert_eq!(a.status, 201, "{:?}", a.body);
            }
        }
    }
}

async fn replay(file: &Path) -> Vec<String> {
    let exchanges: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(file).expect("recording readable"))
            .expect("recording is JSON");
    let sb = TestSandbox::start(SandboxConfig {
        job_delay_ms: 250,
        // Long enough per item that a one-item job is seen `working`, as some recordings saw it.
        job_item_ms: 40,
        seed_json: Some(population()),
        // Polling every few ms to catch `working` would spend the default budget.
        rate_limit: 1_000_000,
        ..SandboxConfig::default()
    });
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    // The recordings of a failed login were made with wrong credentials.
    let api = if name.contains("authentication_test_incorrect") {
        sb.api().with_auth(Auth::Basic("admin@sandbox.test".into(), "wrong-token".into()))
    } else {
        sb.api()
    };
    create_searched(&api, &exchanges).await;

    let mut map: HashMap<String, String> = HashMap::new();
    // Records the file uses before any answer of the file introduced them.
    let mut seen = BTreeSet::new();
    let mut n = 0;
    for ex in &exchanges {
        let req = &ex["request"];
        let status = ex["response"]["status"].as_u64().unwrap_or(0);
        let uri = req["uri"].as_str().unwrap_or("");
        let url = url::Url::parse(uri).expect("recorded URI parses");
        let path = url.path().to_string();
        if status != 404 {
            let mut tokens: Vec<String> =
                path.split('/').map(|s| s.trim_end_matches(".json").to_string()).collect();
            for (k, v) in url.query_pairs() {
                if k == "ids" || k == "external_ids" {
                    tokens.extend(v.split(',').map(str::to_string));
                }
            }
            let mut in_body = BTreeSet::new();
            introduced(&req["body"], &mut in_body);
            tokens.extend(in_body);
            for t in tokens {
                if is_id_like(&t)
                    && !t.starts_with("V3-")
                    && !seen.contains(&t)
                    && !map.contains_key(&t)
                {
                    if let Some(collection) = collection_of(&path) {
                        n += 1;
                        let id = create_existing(&api, collection, n).await;
                        map.insert(t, id);
                    }
                }
            }
        }
        introduced(&ex["response"]["body"], &mut seen);
    }

    let mut problems = Vec::new();
    for (i, ex) in exchanges.iter().enumerate() {
        let req = &ex["request"];
        let rec = &ex["response"];
        let method = req["method"].as_str().unwrap_or("GET");
        let target = rewrite_uri(&map, req["uri"].as_str().unwrap_or(""));
        let body = match &req["body"] {
            Value::Null => None,
            b => Some(rewrite_json(&map, b)),
        };
        let recorded_job_status = rec["body"]["job_status"]["status"].as_str();
        let answer: Answer = if let (Some(want), true) = (recorded_job_status, method == "GET") {
            // Poll until the job reaches the recorded state (or passes it, which is reported).
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let a = api.send(method, &target, body.as_ref()).await;
                let got = a.body["job_status"]["status"].as_str().unwrap_or("").to_string();
                if got == want || job_rank(&got) > job_rank(want) || Instant::now() > deadline {
                    break a;
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        } else {
            api.send(method, &target, body.as_ref()).await
        };
        let at = format!("{name} #{i} {method} {target}");
        let want_status = rec["status"].as_u64().unwrap_or(0) as u16;
        if answer.status != want_status {
            problems.push(format!(
                "{at}: status {} (recorded {want_status}): {}",
                answer.status, answer.body
            ));
            continue;
        }
        if let Some(want) = recorded_job_status {
            let got = answer.body["job_status"]["status"].as_str().unwrap_or("");
            if got != want {
                problems.push(format!("{at}: job {got}, recorded {want}"));
            }
        }
        let mut diffs = Vec::new();
        compare("body", &rec["body"], &answer.body, &mut diffs);
        problems.extend(diffs.into_iter().map(|d| format!("{at}: {d}")));
        let headers = rec["headers"].as_object().cloned().unwrap_or_default();
        for h in ["x-rate-limit", "x-rate-limit-remaining", "location"] {
            if headers.contains_key(h) && answer.header(h).is_empty() {
                problems.push(format!("{at}: header {h} missing"));
            }
        }
        if headers.contains_key("rate-limit") && answer.header("ratelimit-limit").is_empty() {
            problems.push(format!("{at}: header ratelimit-limit missing"));
        }
        learn(&mut map, &rec["body"], &answer.body);
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_covered_recording_replays_with_the_recorded_shapes() {
    let files = recording_files();
    assert!(
        files.len() >= 60,
        "expected the recordings beside the checkout, found {}",
        files.len()
    );
    // Each recording gets a sandbox of its own, so they can replay side by side.
    let all: Vec<String> = futures::stream::iter(files.iter())
        .map(|f| replay(f))
        .buffer_unordered(8)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    assert!(all.is_empty(), "{} mismatches:\n{}", all.len(), all.join("\n"));
}

#[test]
fn uri_rewrite_replaces_ids_job_ids_and_cursors() {
    let mut map = HashMap::new();
    map.insert("6164094807578".to_string(), "6100000000001".to_string());
    map.insert("V3-0f30".to_string(), "V3-aaaa".to_string());
    map.insert("eyJ+/=".to_string(), "CUR=".to_string());
    assert_eq!(
        rewrite_uri(
            &map,
            "https://example.zendesk.com/api/v2/organizations/show_many.json?ids=6164094807578,42"
        ),
        "/api/v2/organizations/show_many.json?ids=6100000000001%2C42"
    );
    assert_eq!(
        rewrite_uri(&map, "https://example.zendesk.com/api/v2/job_statuses/V3-0f30.json"),
        "/api/v2/job_statuses/V3-aaaa.json"
    );
    assert_eq!(
        rewrite_uri(&map, "https://example.zendesk.com/api/v2/users.json?page%5Bafter%5D=eyJ%2B%2F%3D&page%5Bsize%5D=1"),
        "/api/v2/users.json?page%5Bafter%5D=CUR%3D&page%5Bsize%5D=1"
    );
}

#[test]
fn comparison_reports_missing_and_extra_keys_and_type_changes() {
    let mut p = Vec::new();
    compare(
        "b",
        &json!({"a": 1, "b": "x", "c": null}),
        &json!({"a": "1", "c": 5, "d": true}),
        &mut p,
    );
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p.iter().any(|s| s.contains("key 'b' missing")));
    assert!(p.iter().any(|s| s.contains("extra key 'd'")));
    assert!(p.iter().any(|s| s.contains("b.a: recorded 1, sandbox \"1\"")));
}
