//! Zendesk's limits as the sandbox enforces them, through HTTP: the in-flight job window, the
//! per-minute request budget, the job lifecycle of a full batch, job status lookups, cursor
//! and offset pagination over more than 10,000 records, and `--time-scale`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use crate::common::{fast_config, Answer, Api, Auth, TestSandbox};

/// Submits a one-organization create_many and returns the answer as is.
async fn submit_one(api: &Api, name: &str) -> Answer {
    api.post("/api/v2/organizations/create_many.json", json!({"organizations": [{"name": name}]}))
        .await
}

/// `total=T; remaining=R; resets=60`.
fn inflight(total: usize, remaining: usize) -> String {
    format!("total={total}; remaining={remaining}; resets=60")
}

async fn stats(api: &Api) -> Value {
    let a = api.get("/sandbox/stats").await;
    assert_eq!(a.status, 200);
    a.body
}

#[tokio::test]
async fn the_31st_job_in_flight_is_refused_with_too_many_jobs() {
    // Jobs stay queued for 5 s: long enough to fill the window on a loaded machine, short
    // enough to drain it.
    let sb =
        TestSandbox::start(SandboxConfig { job_delay_ms: 5000, job_item_ms: 0, ..fast_config() });
    let api = sb.api();
    let mut ids = Vec::new();
    for i in 0..30 {
        let a = submit_one(&api, &format!("Org {i}")).await;
        assert_eq!(a.status, 200, "job {i}: {:?}", a.body);
        assert_eq!(a.body["job_status"]["status"], "queued");
        assert_eq!(a.header("zendesk-ratelimit-inflight-jobs"), inflight(30, 29 - i));
        ids.push(a.body["job_status"]["id"].as_str().unwrap().to_string());
    }
    let refused = submit_one(&api, "One too many").await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert_eq!(refused.body["error"], "TooManyJobs");
    assert!(refused.body["description"].as_str().unwrap().contains("Try again later"));
    let current: Vec<String> = refused.body["current_job_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(current, ids, "the refusal lists exactly the jobs in flight");
    assert_eq!(refused.header("zendesk-ratelimit-inflight-jobs"), inflight(30, 0));

    // The refused job did nothing; once the queue drains a new job is accepted.
    for id in &ids {
        assert_eq!(api.wait_job(id).await["status"], "completed");
    }
    let search = api.get("/api/v2/organizations/search?name=One%20too%20many").await;
    assert_eq!(search.body["count"], 0, "{:?}", search.body);
    let again = submit_one(&api, "After the drain").await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.header("zendesk-ratelimit-inflight-jobs"), inflight(30, 29));

    let s = stats(&api).await;
    assert_eq!(s["peak_jobs_in_flight"], 30, "{s}");
    assert_eq!(s["too_many_jobs"], 1, "{s}");
    assert_eq!(s["jobs_in_flight"], 1, "{s}");
}

#[tokio::test]
async fn job_limit_knob_sets_the_window() {
    let config = SandboxConfig { job_limit: 3, job_delay_ms: 60_000, ..fast_config() };
    let sb = TestSandbox::start(config);
    let api = sb.api();
    for i in 0..3 {
        let a = submit_one(&api, &format!("Org {i}")).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("zendesk-ratelimit-inflight-jobs"), inflight(3, 2 - i));
    }
    let refused = submit_one(&api, "Fourth").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["current_job_ids"].as_array().unwrap().len(), 3);
    assert_eq!(refused.header("zendesk-ratelimit-inflight-jobs"), inflight(3, 0));
}

/// The binary running `zdbulk sandbox` with extra flags; killed when dropped.
struct Binary {
    child: Child,
    url: String,
    /// Kept open: the banner goes on after its first line, and a closed pipe would kill it.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_binary(args: &[&str]) -> Binary {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .args(["sandbox", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zdbulk sandbox starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "first line names the URL: {first}");
    Binary { child, url, _stdout: stdout }
}

#[tokio::test]
async fn job_limit_flag_reaches_the_sandbox() {
    let bin = spawn_binary(&["--job-limit", "3", "--job-delay-ms", "60000"]);
    let api = Api::new(&bin.url, Auth::Basic("admin@sandbox.test".into(), "sandbox-token".into()));
    for i in 0..3 {
        assert_eq!(submit_one(&api, &format!("Org {i}")).await.status, 200);
    }
    let refused = submit_one(&api, "Fourth").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("zendesk-ratelimit-inflight-jobs"), inflight(3, 0));
}

#[tokio::test]
async fn the_default_budget_is_700_requests_a_minute() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for i in 0..700u32 {
        let a = api.get("/api/v2/organizations/count").await;
        assert_eq!(a.status, 200, "request {}", i + 1);
        assert_eq!(a.header("x-rate-limit"), "700");
        assert_eq!(a.header("x-rate-limit-remaining"), (699 - i).to_string(), "request {}", i + 1);
    }
    let refused = api.get("/api/v2/organizations/count").await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("content-type").starts_with("text/plain"), "{:?}", refused.headers);
    assert_eq!(refused.body, "Number of allowed API requests per minute exceeded");
    let retry: u64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(refused.header("x-rate-limit-remaining"), "0");

    let s = stats(&api).await;
    assert_eq!(s["rate_limited"], 1, "{s}");
    assert_eq!(s["total_requests"], 701, "{s}");
    let counted = &s["requests"]["GET /api/v2/organizations/count"];
    assert_eq!(counted["200"], 700, "{s}");
    assert_eq!(counted["429"], 1, "{s}");
}

#[tokio::test]
async fn a_100_organization_job_goes_queued_working_completed() {
    let config = SandboxConfig { job_delay_ms: 300, job_item_ms: 20, ..fast_config() };
    let sb = TestSandbox::start(config);
    let api = sb.api();
    let names: Vec<String> = (0..100).map(|i| format!("Batch org {i:03}")).collect();
    let orgs: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    let a = api.post("/api/v2/organizations/create_many", json!({"organizations": orgs})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let queued = &a.body["job_status"];
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["total"], 100);
    assert_eq!(queued["progress"], Value::Null);
    assert_eq!(queued["message"], Value::Null);
    assert_eq!(queued["results"], Value::Null);
    let id = queued["id"].as_str().unwrap().to_string();
    assert_eq!(queued["url"], format!("{}/api/v2/job_statuses/{id}.json", sb.url));

    // Working: progress counts done items and the message names the item in hand.
    let mut working = Vec::new();
    for _ in 0..200 {
        let s = api.get(&format!("/api/v2/job_statuses/{id}")).await.body["job_status"].clone();
        match s["status"].as_str().unwrap() {
            "queued" => {}
            "working" => working.push(s),
            _ => break,
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!working.is_empty(), "the job was seen working");
    let mut last = 0;
    for s in &working {
        let progress = s["progress"].as_u64().expect("progress is set while working");
        assert!(progress < 100 && progress >= last, "{s}");
        last = progress;
        assert_eq!(s["message"], format!("Creating organization #{}", progress + 1));
        assert_eq!(s["results"], Value::Null);
        assert_eq!(s["total"], 100);
    }

    let done = api.wait_job(&id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["progress"], 100);
    let message = done["message"].as_str().unwrap();
    let stamp = message.strip_prefix("Completed at ").expect(message);
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S +0000").is_ok(),
        "{message}"
    );
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    let mut ids = Vec::new();
    for r in results {
        assert_eq!(r.as_object().unwrap().len(), 2, "{r}");
        assert_eq!(r["status"], "Created");
        ids.push(r["id"].as_u64().unwrap());
    }
    // Result i is request item i: look every id up at once and compare names.
    let joined = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let shown = api.get(&format!("/api/v2/organizations/show_many?ids={joined}")).await;
    assert_eq!(shown.status, 200);
    let by_id: BTreeMap<u64, String> = shown.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_u64().unwrap(), o["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(by_id.len(), 100);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(by_id[id], names[i], "result {i}");
    }
}

#[tokio::test]
async fn job_statuses_show_many_and_list() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = submit_one(&api, &format!("Listed {i}")).await;
        ids.push(a.body["job_status"]["id"].as_str().unwrap().to_string());
    }
    let wanted = format!("{},{},{},V3-0000", ids[0], ids[2], ids[4]);
    let a = api.get(&format!("/api/v2/job_statuses/show_many?ids={wanted}")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let shown: Vec<&str> = a.body["job_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(shown, vec![ids[0].as_str(), ids[2].as_str(), ids[4].as_str()]);
    for s in a.body["job_statuses"].as_array().unwrap() {
        assert_eq!(s["status"], "completed", "{s}");
        assert_eq!(s["results"][0]["status"], "Created");
    }

    // The list walks newest first, two a page, until has_more is false.
    let mut seen = Vec::new();
    let mut path = "/api/v2/job_statuses?page[size]=2".to_string();
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let statuses = page.body["job_statuses"].as_array().unwrap();
        assert!(statuses.len() <= 2);
        seen.extend(statuses.iter().map(|s| s["id"].as_str().unwrap().to_string()));
        if page.body["meta"]["has_more"] == false {
            break;
        }
        let after = page.body["meta"]["after_cursor"].as_str().unwrap();
        path = format!("/api/v2/job_statuses?page[size]=2&page[after]={after}");
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
}

/// A seed document with `n` organizations named `Seeded 00001`...
fn seed_orgs(n: usize) -> String {
    let orgs: Vec<Value> = (1..=n).map(|i| json!({"name": format!("Seeded {i:05}")})).collect();
    json!({ "organizations": orgs }).to_string()
}

#[tokio::test]
async fn cursor_walks_10050_organizations_and_offset_stops_at_page_100() {
    let config = SandboxConfig { seed_json: Some(seed_orgs(10_050)), ..fast_config() };
    let sb = TestSandbox::start(config);
    let api = sb.api();

    let mut ids: Vec<u64> = Vec::new();
    let mut names = Vec::new();
    let mut path = "/api/v2/organizations.json?page[size]=100".to_string();
    let mut pages = 0;
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        pages += 1;
        let orgs = page.body["organizations"].as_array().unwrap();
        assert!(orgs.len() <= 100);
        for o in orgs {
            ids.push(o["id"].as_u64().unwrap());
            names.push(o["name"].as_str().unwrap().to_string());
        }
        if page.body["meta"]["has_more"] == false {
            break;
        }
        assert!(pages < 200, "the walk ends");
        let after = page.body["meta"]["after_cursor"].as_str().unwrap();
        path = format!("/api/v2/organizations.json?page[size]=100&page[after]={after}");
    }
    assert_eq!(pages, 101);
    assert_eq!(ids.len(), 10_050);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids come once each, ascending");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 10_050);
    let expected: Vec<String> = (1..=10_050).map(|i| format!("Seeded {i:05}")).collect();
    assert_eq!(names, expected, "seed order is id order");

    // Offset: page 100 of 100 is the deepest page served.
    let deepest = api.get("/api/v2/organizations.json?per_page=100&page=100").await;
    assert_eq!(deepest.status, 200, "{:?}", deepest.body);
    assert_eq!(deepest.body["count"], 10_050);
    let got: Vec<u64> = deepest.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, ids[9_900..10_000]);
    let page2 = api.get("/api/v2/organizations.json?page=2&per_page=100").await;
    assert_eq!(page2.status, 200);
    assert_eq!(page2.body["organizations"][0]["id"], ids[100]);

    for query in
        ["page=101", "page=101&per_page=100", "page=101&per_page=10", "page=150&per_page=1"]
    {
        let a = api.get(&format!("/api/v2/organizations.json?{query}")).await;
        assert_eq!(a.status, 400, "{query}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["code"], "InvalidPaginationDepth", "{query}");
    }
}

#[tokio::test]
async fn time_scale_60_turns_minutes_into_seconds() {
    // A two-minute queue delay: 120 s unscaled, 2 s at 60x (wait_job gives up after ~20 s).
    let config = SandboxConfig {
        rate_limit: 3,
        time_scale: 60.0,
        job_delay_ms: 120_000,
        job_item_ms: 0,
        ..fast_config()
    };
    let sb = TestSandbox::start(config);
    let api = sb.api();
    let a = submit_one(&api, "Scaled").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["job_status"]["status"], "queued");
    let id = a.body["job_status"]["id"].as_str().unwrap().to_string();
    // The budget window is a sandbox minute: a real second.
    assert_eq!(a.header("ratelimit-reset"), "1");
    // Spend the budget (a window may roll over meanwhile on a slow machine: keep going).
    let mut refused = None;
    for _ in 0..20 {
        let a = api.get("/api/v2/organizations/count").await;
        if a.status == 429 {
            refused = Some(a);
            break;
        }
    }
    let refused = refused.expect("a budget of 3 runs out");
    assert_eq!(refused.header("retry-after"), "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = api.get("/api/v2/organizations/count").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-rate-limit-remaining"), "2");

    // Polls are spaced so the 3-a-second budget is not what stops them.
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let s = api.get(&format!("/api/v2/job_statuses/{id}")).await;
        if s.status == 200 && s.body["job_status"]["status"] == "completed" {
            return;
        }
    }
    panic!("a two-minute job did not complete within ~24 real seconds at 60x");
}
