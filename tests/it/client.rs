//! The Zendesk client against wiremock: retries, rate limits, auth, pacing, and what it makes
//! of real recorded Zendesk bodies (`tests/fixtures/zendesk-recordings/`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{
    any, body_partial_json, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use zdbulk::zendesk::models::{FieldDef, JobId, JobState, JobStatus, Organization, OrganizationId};
use zdbulk::zendesk::{ApiError, Client, ClientSettings, Credentials, ZendeskErrorBody};

// ---------------------------------------------------------------------------------------------
// Helpers

pub(crate) fn settings(server: &MockServer, credentials: Credentials) -> ClientSettings {
    ClientSettings {
        base_url: Url::parse(&server.uri()).unwrap(),
        credentials,
        max_retries: 3,
        retry_base_delay: Duration::ZERO,
        timeout: Duration::from_secs(10),
        max_rpm: None,
    }
}

fn basic() -> Credentials {
    Credentials::Basic { email: "me@acme.com".into(), token: "s3cr3t".into() }
}

fn client(server: &MockServer) -> Client {
    Client::new(settings(server, basic())).unwrap()
}

/// A catch-all, mounted last, whose 418 body names what the test expected, so a request to
/// the wrong URL fails readably instead of as an unmatched 404 (octocrab `mock_error.rs`).
pub(crate) async fn catch_all(server: &MockServer, expected: &str) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418).set_body_string(format!("expected {expected}")))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

fn recordings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zendesk-recordings")
}

/// Every recorded exchange: (file name, index, exchange).
fn all_exchanges() -> Vec<(String, usize, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(recordings_dir())
        .expect("tests/fixtures/zendesk-recordings is in the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".decoded.json"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let exchanges: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (i, ex) in exchanges.into_iter().enumerate() {
            out.push((name.clone(), i, ex));
        }
    }
    out
}

/// The response body of exchange `index` of a recording file.
fn recorded_body(file: &str, index: usize) -> Value {
    let text = std::fs::read_to_string(recordings_dir().join(file)).unwrap();
    let exchanges: Vec<Value> = serde_json::from_str(&text).unwrap();
    exchanges[index]["response"]["body"].clone()
}

pub(crate) fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

const FULL_CREATE: &str =
    "TestOrganizationCreateUpdateDelete.test_full_objects_create-create-multiple.decoded.json";
const UPDATE_FAILED: &str =
    "TestOrganizationCreateUpdateDelete.test_multiple_update_full_objects-update-many.decoded.json";
const PAGINATION: &str = "TestOrganizationCreateUpdateDelete.test_pagination.decoded.json";

pub(crate) fn queued_job() -> Value {
    recorded_body(FULL_CREATE, 0)
}

// ---------------------------------------------------------------------------------------------
// Retries and rate limits

#[tokio::test]
async fn retries_on_429_after_retry_after_and_pauses_every_worker() {
    let server = MockServer::start().await;
    let orgs = recorded_body(FULL_CREATE, 3);
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/show_many.json"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("content-type", "text/plain; charset=UTF-8")
                .set_body_string("Number of allowed API requests per minute exceeded"),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/show_many.json"))
        .respond_with(ok_json(orgs))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/show_many.json"))
        .respond_with(ok_json(json!({"job_statuses": []})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "show_many").await;

    let client = client(&server);
    let started = Instant::now();
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.organizations().show_many(&[OrganizationId(1)]).await })
    };
    // Wait until the 429 has closed the gate, then send a second, unrelated request.
    while client.stats().rate_limited == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "no 429 seen");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let second = client.job_statuses().show_many(&[JobId::from("V3-x")]).await.unwrap();
    // The gate opened one second after the 429, which came after `started`: the second
    // request cannot have finished earlier.
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(second.is_empty());

    let orgs = first.await.unwrap().unwrap();
    assert_eq!(orgs.len(), 100);
    let stats = client.stats();
    assert_eq!(stats.rate_limited, 1);
    assert!(stats.rate_limit_wait >= Duration::from_millis(990), "{:?}", stats.rate_limit_wait);
    assert_eq!(stats.requests, 3);
}

#[tokio::test]
async fn get_retries_500_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/search.json"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/search.json"))
        .and(query_param("external_id", "69420"))
        .respond_with(ok_json(recorded_body(
            "node-zendesk.organizations_test_search_organization.decoded.json",
            0,
        )))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "organizations/search").await;

    let client = client(&server);
    let found = client.organizations().search_by_external_id("69420").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].external_id.as_deref(), Some("69420"));
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn get_gives_up_after_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .expect(4) // the first attempt and max_retries = 3
        .mount(&server)
        .await;
    let err = client(&server).organization_fields().list_all().await.unwrap_err();
    match &err {
        ApiError::RetriesExhausted { retries, last, .. } => {
            assert_eq!(*retries, 3);
            assert_eq!(last.status(), Some(502));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(err.to_string().starts_with("request failed after 3 retries"), "{err}");
}

#[tokio::test]
async fn write_is_retried_after_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/organizations/create_many.json"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/organizations/create_many.json"))
        .and(body_partial_json(json!({"organizations": [{"name": "Acme"}]})))
        .respond_with(ok_json(queued_job()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "create_many").await;

    let job = client(&server)
        .organizations()
        .create_many(&[json!({"name": "Acme", "external_id": "acme-1"})])
        .await
        .unwrap();
    assert_eq!(job.status, JobState::Queued);
    assert_eq!(job.id, JobId::from("V3-6032b8b01e53ef8fc637cb4881cacd82"));
}

#[tokio::test]
async fn write_is_not_retried_on_422() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": "RecordInvalid", "description": "Record validation errors",
            "details": {"name": [{"description": "Name: x has already been taken", "error": "DuplicateValue"}]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .organizations()
        .update_many(&[json!({"id": 1, "name": "x"})])
        .await
        .unwrap_err();
    let ApiError::Status { status, body, url, method } = &err else { panic!("{err:?}") };
    assert_eq!((*status, method.as_str()), (422, "PUT"));
    assert_eq!(body.code(), Some("RecordInvalid"));
    assert!(url.ends_with("/api/v2/organizations/update_many.json"), "{url}");
    assert!(err.to_string().contains("has already been taken"), "{err}");
}

#[tokio::test]
async fn lost_answer_on_a_write_is_not_resent() {
    let server = MockServer::start().await;
    // Zendesk got the request (the job may be queued) but the answer never arrives in time.
    Mock::given(method("POST"))
        .and(path("/api/v2/organizations/create_many.json"))
        .respond_with(ok_json(queued_job()).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(&server, basic());
    s.timeout = Duration::from_millis(300);
    let client = Client::new(s).unwrap();
    let err = client.organizations().create_many(&[json!({"name": "Acme"})]).await.unwrap_err();
    assert!(matches!(err, ApiError::AnswerLost { .. }), "{err:?}");
    assert!(err.to_string().contains("the change may have been made"), "{err}");
    assert_eq!(client.stats().requests, 1);
}

/// A server that reads each request and then closes the connection without answering: the
/// dropped connection of a load balancer or a crash. Returns its URL and a request counter.
async fn dropping_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Read up to the end of the headers, then count the request and hang up.
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        counter.fetch_add(1, Ordering::SeqCst);
                        return; // dropping the socket closes the connection
                    }
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn dropped_connection_on_a_write_is_answer_lost_and_not_resent() {
    let (url, seen) = dropping_server().await;
    let s = ClientSettings {
        base_url: Url::parse(&url).unwrap(),
        credentials: basic(),
        max_retries: 3,
        retry_base_delay: Duration::ZERO,
        timeout: Duration::from_secs(10),
        max_rpm: None,
    };
    let client = Client::new(s).unwrap();
    let err = client.organizations().create_many(&[json!({"name": "Acme"})]).await.unwrap_err();
    assert!(matches!(err, ApiError::AnswerLost { .. }), "{err:?}");
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1, "the write was sent once");

    // The same drop on a read is retried until the retries run out.
    let err = client.job_statuses().show(&JobId::from("V3-a")).await.unwrap_err();
    let ApiError::RetriesExhausted { retries, last, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*retries, 3);
    assert!(matches!(**last, ApiError::AnswerLost { .. }), "{last:?}");
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 5);
}

#[tokio::test]
async fn lost_answer_on_a_read_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(json!({"job_statuses": []})).set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok_json(json!({"job_statuses": []})))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(&server, basic());
    s.timeout = Duration::from_millis(300);
    let client = Client::new(s).unwrap();
    assert!(client.job_statuses().show_many(&[JobId::from("a")]).await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_even_for_writes() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = ClientSettings {
        base_url: Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        credentials: basic(),
        max_retries: 2,
        retry_base_delay: Duration::ZERO,
        timeout: Duration::from_secs(5),
        max_rpm: None,
    };
    let client = Client::new(s).unwrap();
    let err = client.organizations().destroy_many(&[OrganizationId(1)]).await.unwrap_err();
    let ApiError::RetriesExhausted { retries, last, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*retries, 2, "a request that never left is safe to repeat");
    assert!(matches!(**last, ApiError::Transport { .. }), "{last:?}");
}

#[tokio::test]
async fn too_many_jobs_is_returned_not_retried() {
    for status in [429, 400] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", "1").set_body_json(json!({
                "error": "TooManyJobs",
                "description": "Too many OrganizationBulkCreateJob jobs are currently queued or running. Try again later.",
                "current_job_ids": ["14b1939441cb2e96d0c0835ede22ce03", "V3-abc"]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let client = client(&server);
        let err = client.organizations().create_many(&[json!({"name": "Acme"})]).await.unwrap_err();
        let ApiError::TooManyJobs { current_job_ids, status: got, .. } = &err else {
            panic!("{status}: {err:?}")
        };
        assert_eq!(*got, status);
        assert_eq!(current_job_ids.len(), 2);
        assert_eq!(client.stats().rate_limited, 0, "the rate gate stays open");
    }
}

#[tokio::test]
async fn max_rpm_spaces_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(json!({"job_status": recorded_body(FULL_CREATE, 1)["job_status"]})))
        .expect(5)
        .mount(&server)
        .await;
    let mut s = settings(&server, basic());
    s.max_rpm = Some(600); // one request every 100 ms
    let client = Client::new(s).unwrap();
    let started = Instant::now();
    let id = JobId::from("V3-6032b8b01e53ef8fc637cb4881cacd82");
    let jobs = futures::future::join_all((0..5).map(|_| client.job_statuses().show(&id))).await;
    assert!(jobs.iter().all(Result::is_ok));
    // Five slots 100 ms apart: the last cannot start before 400 ms.
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    assert_eq!(client.stats().requests, 5);
}

#[tokio::test]
async fn budget_headers_are_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ok_json(json!({"organization_fields": [], "meta": {"has_more": false}}))
                .insert_header("x-rate-limit", "700")
                .insert_header("x-rate-limit-remaining", "699")
                .insert_header("ratelimit-remaining", "698")
                .insert_header("ratelimit-reset", "41")
                .insert_header(
                    "zendesk-ratelimit-inflight-jobs",
                    "total=30; remaining=29; resets=60",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client.organization_fields().list_all().await.unwrap();
    let stats = client.stats();
    let budget = stats.budget.unwrap();
    assert_eq!((budget.limit, budget.remaining), (Some(700), Some(698)));
    assert_eq!(stats.inflight_jobs.unwrap().remaining, 29);
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn basic_auth_header_is_exact() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Basic bWVAYWNtZS5jb20vdG9rZW46czNjcjN0"))
        .respond_with(ok_json(json!({"user_fields": [], "meta": {"has_more": false}})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "basic auth").await;
    client(&server).user_fields().list_all().await.unwrap();
}

#[tokio::test]
async fn bearer_header() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer tok-abc"))
        .respond_with(ok_json(json!({"user_fields": [], "meta": {"has_more": false}})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "bearer auth").await;
    let client = Client::new(settings(&server, Credentials::Bearer("tok-abc".into()))).unwrap();
    client.user_fields().list_all().await.unwrap();
}

#[tokio::test]
async fn rejected_static_bearer_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_token",
            "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(settings(&server, Credentials::Bearer("dead".into()))).unwrap();
    let err = client.user_fields().list_all().await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: Some(401), .. }), "{err:?}");
    assert!(!err.to_string().contains("dead"), "{err}");
}

pub(crate) fn client_credentials() -> Credentials {
    Credentials::ClientCredentials {
        client_id: "acme_cli".into(),
        client_secret: "hush".into(),
        scope: String::new(),
    }
}

#[tokio::test]
async fn client_credentials_mint_once_for_concurrent_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .and(body_partial_json(json!({
            "grant_type": "client_credentials", "client_id": "acme_cli",
            "client_secret": "hush", "scope": "read write"
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"access_token": "tok-1", "token_type": "bearer", "scope": "read write", "expires_in": 1800}))
                // Slow enough that every worker is waiting while the token is minted.
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/show_many.json"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ok_json(json!({"job_statuses": []})))
        .expect(30)
        .mount(&server)
        .await;
    catch_all(&server, "token then show_many").await;

    let client = Client::new(settings(&server, client_credentials())).unwrap();
    let ids = [JobId::from("V3-a")];
    let answers = futures::future::join_all((0..30).map(|_| {
        let client = client.clone();
        let ids = ids.clone();
        tokio::spawn(async move { client.job_statuses().show_many(&ids).await })
    }))
    .await;
    assert!(answers.into_iter().all(|a| a.unwrap().is_ok()));
    assert_eq!(client.stats().tokens_minted, 1);
}

#[tokio::test]
async fn client_credentials_remint_once_on_401_invalid_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-1"})))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"access_token": "tok-2"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer tok-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Bearer realm=\"Zendesk::OAuth Bearer Token Authentication\", error=\"invalid_token\"")
                .set_body_json(json!({"error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ok_json(queued_job()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "token, 401, token, update_many").await;

    let client = Client::new(settings(&server, client_credentials())).unwrap();
    let job = client.organizations().update_many(&[json!({"id": 1, "notes": "x"})]).await.unwrap();
    assert_eq!(job.status, JobState::Queued);
    assert_eq!(client.stats().tokens_minted, 2);
}

#[tokio::test]
async fn refused_client_credentials_are_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "The client identifier provided is invalid"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(settings(&server, client_credentials())).unwrap();
    let err = client.organizations().list_all().await.unwrap_err();
    let ApiError::Auth { reason, url, .. } = &err else { panic!("{err:?}") };
    assert!(reason.contains("invalid_client"), "{reason}");
    assert!(url.ends_with("/oauth/tokens"), "{url}");
    assert!(!err.to_string().contains("hush"));
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let s = ClientSettings::new(Url::parse("http://acme.zendesk.com").unwrap(), basic());
    let err = Client::new(s).unwrap_err();
    assert!(matches!(err, ApiError::InsecureUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("refusing to send credentials over plain http"), "{err}");
    let debug =
        format!("{:?}", ClientSettings::new(Url::parse("https://a.zendesk.com").unwrap(), basic()));
    assert!(!debug.contains("s3cr3t"), "{debug}");
}

// ---------------------------------------------------------------------------------------------
// Recorded bodies

#[tokio::test]
async fn recorded_job_lifecycle_is_understood() {
    let server = MockServer::start().await;
    let id = "V3-6032b8b01e53ef8fc637cb4881cacd82";
    let job_path = format!("/api/v2/job_statuses/{id}.json");
    for (i, body) in
        [recorded_body(FULL_CREATE, 1), recorded_body(FULL_CREATE, 2)].into_iter().enumerate()
    {
        Mock::given(method("GET"))
            .and(path(job_path.as_str()))
            .respond_with(ok_json(body))
            .up_to_n_times(1)
            .expect(1)
            .with_priority(1 + i as u8)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/api/v2/organizations/create_many.json"))
        .respond_with(ok_json(queued_job()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "create_many then two polls").await;

    let client = client(&server);
    let queued = client.organizations().create_many(&[json!({"name": "a"})]).await.unwrap();
    assert_eq!(
        (queued.status.clone(), queued.total, queued.results.clone()),
        (JobState::Queued, Some(100), None)
    );

    let working = client.job_statuses().show(&queued.id).await.unwrap();
    assert_eq!(working.status, JobState::Working);
    assert_eq!(working.progress, Some(31));
    assert_eq!(working.message.as_deref(), Some("Creating organization #31"));
    assert!(working.results.is_none() && !working.status.is_terminal());

    let done = client.job_statuses().show(&queued.id).await.unwrap();
    assert!(done.status.is_terminal());
    let results = done.results.unwrap();
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|r| !r.is_failure() && r.status.as_deref() == Some("Created")));
    assert_eq!(results[0].record_id(), Some(6164110479770));
}

#[tokio::test]
async fn recorded_update_failures_keep_their_index() {
    let server = MockServer::start().await;
    let queued = recorded_body(UPDATE_FAILED, 3);
    let working = recorded_body(UPDATE_FAILED, 4);
    let done = recorded_body(UPDATE_FAILED, 5);
    let ids: Vec<String> = [&working, &done]
        .iter()
        .map(|b| b["job_status"]["id"].as_str().unwrap().to_string())
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/show_many.json"))
        .and(query_param(
            "ids",
            format!("{},{}", queued["job_status"]["id"].as_str().unwrap(), ids[1]),
        ))
        .respond_with(ok_json(json!({"job_statuses": [queued["job_status"], done["job_status"]]})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "job_statuses/show_many with both ids").await;

    let client = client(&server);
    let ask =
        [JobId(queued["job_status"]["id"].as_str().unwrap().to_string()), JobId(ids[1].clone())];
    let jobs: Vec<JobStatus> = client.job_statuses().show_many(&ask).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].status, JobState::Queued);
    let results = jobs[1].results.as_ref().unwrap();
    let failures: Vec<(usize, usize)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_failure())
        .map(|(pos, r)| (pos, r.index.unwrap()))
        .collect();
    assert!(!failures.is_empty());
    for (pos, index) in &failures {
        assert_eq!(pos, index, "the failure's index is its position in the request");
        let r = &results[*pos];
        assert_eq!(r.error.as_deref(), Some("OrganizationUpdateFailed"));
        assert!(r.details.as_deref().unwrap().contains("has already been taken"));
        assert_eq!(r.record_id(), None, "never trust the id of a failed item");
    }
    assert!(results.iter().filter(|r| !r.is_failure()).all(|r| r.success == Some(true)));
}

#[tokio::test]
async fn recorded_organization_pages_are_followed_by_cursor() {
    let server = MockServer::start().await;
    let mut page1 = recorded_body(PAGINATION, 3);
    // Real cursors are base64 and may hold `+`, which must be percent-encoded (an unencoded
    // `+` reads as a space: zendesk-api.md §5). The recorded one has `=`; add a `+`.
    let cursor = format!("{}+a", page1["meta"]["after_cursor"].as_str().unwrap());
    page1["meta"]["after_cursor"] = json!(cursor);
    let mut page2 = recorded_body(PAGINATION, 6);
    page2["meta"]["has_more"] = json!(false);
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations.json"))
        .and(query_param("page[size]", "100"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(ok_json(page1.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations.json"))
        .and(query_param("page[size]", "100"))
        .and(query_param("page[after]", cursor.as_str()))
        .respond_with(ok_json(page2.clone()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "two cursor pages").await;

    let orgs: Vec<Organization> = client(&server).organizations().list_all().await.unwrap();
    assert_eq!(orgs.len(), 101);
    assert_eq!(orgs[0].id.0, page1["organizations"][0]["id"].as_u64().unwrap());
    assert_eq!(orgs[100].name, page2["organizations"][0]["name"].as_str().unwrap());
}

#[tokio::test]
async fn show_many_splits_into_calls_of_100() {
    let server = MockServer::start().await;
    let at_most_100 = |req: &Request| {
        req.url
            .query_pairs()
            .find(|(k, _)| k == "external_ids")
            .is_some_and(|(_, v)| (1..=100).contains(&v.split(',').count()))
    };
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations/show_many.json"))
        .and(at_most_100)
        .respond_with(ok_json(recorded_body(
            "node-zendesk.organizations_test_search_organization.decoded.json",
            0,
        )))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server, "show_many with at most 100 external_ids").await;
    let ext: Vec<String> = (0..150).map(|i| format!("ext-{i}")).collect();
    let orgs = client(&server).organizations().show_many_by_external_ids(&ext).await.unwrap();
    assert_eq!(orgs.len(), 2);
}

#[tokio::test]
async fn recorded_field_definitions_are_listed() {
    let server = MockServer::start().await;
    let field = recorded_body(
        "TestOrganizationFieldsCreateUpdateDelete.test_single_object_creation-create-single.decoded.json",
        0,
    )["organization_field"]
        .clone();
    let dropdown = json!({
        "id": 7, "type": "dropdown", "key": "tier", "title": "Tier", "active": true,
        "custom_field_options": [{"id": 1, "name": "Gold", "raw_name": "Gold", "value": "gold"}]
    });
    Mock::given(method("GET"))
        .and(path("/api/v2/organization_fields.json"))
        .respond_with(ok_json(json!({
            "organization_fields": [field, dropdown],
            "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
            "links": {"prev": null, "next": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "organization_fields list").await;
    let fields: Vec<FieldDef> = client(&server).organization_fields().list_all().await.unwrap();
    assert_eq!(fields[0].key, "somethingsomethingsomething");
    assert_eq!((fields[0].field_type.as_str(), fields[0].position), ("text", Some(9999)));
    assert!(fields[0].custom_field_options.is_empty() && fields[0].active);
    assert_eq!(fields[1].custom_field_options[0].value, "gold");
}

/// Every organizations / job_statuses / *_fields body in the recordings fits the models, and
/// every error body parses to a code.
#[test]
fn every_recorded_body_deserializes() {
    let mut checked = 0;
    for (file, i, ex) in all_exchanges() {
        let uri = ex["request"]["uri"].as_str().unwrap();
        if !["organizations", "job_statuses", "organization_fields", "user_fields"]
            .iter()
            .any(|r| uri.contains(&format!("/api/v2/{r}")))
        {
            continue;
        }
        let status = ex["response"]["status"].as_u64().unwrap();
        let body = &ex["response"]["body"];
        let at = format!("{file} #{i} {uri}");
        if !(200..300).contains(&status) {
            let parsed = ZendeskErrorBody::parse(body.to_string().as_bytes());
            assert!(parsed.code().is_some(), "{at}: {body}");
            checked += 1;
            continue;
        }
        let Some(obj) = body.as_object() else { continue }; // 204 No Content
        for (key, value) in obj {
            let result = match key.as_str() {
                "organization" => serde_json::from_value::<Organization>(value.clone()).map(drop),
                "organizations" => {
                    serde_json::from_value::<Vec<Organization>>(value.clone()).map(drop)
                }
                "job_status" => serde_json::from_value::<JobStatus>(value.clone()).map(drop),
                "job_statuses" => serde_json::from_value::<Vec<JobStatus>>(value.clone()).map(drop),
                "organization_field" | "user_field" => {
                    serde_json::from_value::<FieldDef>(value.clone()).map(drop)
                }
                "organization_fields" | "user_fields" => {
                    serde_json::from_value::<Vec<FieldDef>>(value.clone()).map(drop)
                }
                _ => continue,
            };
            result.unwrap_or_else(|e| panic!("{at}: {key}: {e}"));
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} bodies checked: are the recordings there?");
}

#[tokio::test]
async fn concurrent_401s_mint_one_new_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"access_token": "tok-1"})))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"access_token": "tok-2", "expires_in": 1800}))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer tok-2"))
        .respond_with(ok_json(json!({"job_statuses": []})))
        .expect(10)
        .mount(&server)
        .await;
    let client = Client::new(settings(&server, client_credentials())).unwrap();
    let answers = futures::future::join_all((0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.job_statuses().show_many(&[JobId::from("a")]).await })
    }))
    .await;
    assert!(answers.into_iter().all(|a| a.unwrap().is_ok()));
    assert_eq!(client.stats().tokens_minted, 2, "one first token, one renewal for all ten");
}
