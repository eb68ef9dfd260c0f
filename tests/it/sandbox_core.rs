//! The sandbox's shared machinery through HTTP: routing with and without `.json`, the rate
//! budget and its headers, unknown endpoints, `/sandbox/stats`.

use crate::common::{fast_config, TestSandbox};
use zdbulk_sandbox::SandboxConfig;

#[tokio::test]
async fn unknown_path_is_invalid_endpoint() {
    let sb = TestSandbox::fast();
    let a = sb.api().get("/api/v2/no_such_thing.json").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["error"], "InvalidEndpoint");
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers() {
    let sb = TestSandbox::fast();
    let a = sb.api().get("/api/v2/job_statuses.json").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.header("x-rate-limit"), "700");
    assert_eq!(a.header("x-rate-limit-remaining"), "699");
    assert_eq!(a.header("ratelimit-limit"), "700");
    assert_eq!(a.header("ratelimit-remaining"), "699");
    let reset: u64 = a.header("ratelimit-reset").parse().unwrap();
    assert!((1..=60).contains(&reset));
}

#[tokio::test]
async fn request_past_the_budget_gets_429_with_retry_after() {
    let sb = TestSandbox::start(SandboxConfig { rate_limit: 5, ..fast_config() });
    let api = sb.api();
    for i in 0..5 {
        let a = api.get("/api/v2/job_statuses").await;
        assert_eq!(a.status, 200, "request {i}");
    }
    let a = api.get("/api/v2/job_statuses").await;
    assert_eq!(a.status, 429);
    assert!(a.header("content-type").starts_with("text/plain"));
    assert_eq!(a.body, "Number of allowed API requests per minute exceeded");
    let retry: u64 = a.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(a.header("x-rate-limit-remaining"), "0");
    let stats = api.get("/sandbox/stats").await;
    assert_eq!(stats.body["rate_limited"], 1);
}

#[tokio::test]
async fn time_scale_refills_the_budget_in_real_seconds() {
    let sb = TestSandbox::start(SandboxConfig { rate_limit: 2, time_scale: 60.0, ..fast_config() });
    let api = sb.api();
    api.get("/api/v2/job_statuses").await;
    api.get("/api/v2/job_statuses").await;
    let refused = api.get("/api/v2/job_statuses").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), "1");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(api.get("/api/v2/job_statuses").await.status, 200);
}
