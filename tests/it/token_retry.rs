//! The OAuth token endpoint is retried like any other request (issue 8, item 5): 5xx, 429,
//! timeouts and dropped connections are retried with the client's policy, at the first mint
//! and at a renewal mid-run; answers that say the credentials are wrong are final at once.

use std::time::Duration;

use serde_json::json;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zdbulk::zendesk::models::{JobId, JobState};
use zdbulk::zendesk::{ApiError, Client, ClientSettings};

use crate::client::{catch_all, client_credentials, ok_json, settings};

/// The token endpoint answers `status` the first `n` times (priority 1 wins over the
/// success mounted by [`token_ok`]).
async fn token_fails(server: &MockServer, n: u64, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(answer)
        .up_to_n_times(n)
        .with_priority(1)
        .mount(server)
        .await;
}

/// The token endpoint mints `token`, valid for 30 minutes.
async fn token_ok(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"access_token": token, "token_type": "bearer", "expires_in": 1800}),
        ))
        .mount(server)
        .await;
}

/// The token endpoint's first answer mints `token`, valid for `expires_in` seconds.
async fn first_token(server: &MockServer, token: &str, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"access_token": token, "expires_in": expires_in})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

/// `show_many` answers for `token`.
async fn api_accepts(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/show_many.json"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ok_json(json!({"job_statuses": []})))
        .mount(server)
        .await;
}

/// How many requests the token endpoint received.
async fn token_requests(server: &MockServer) -> usize {
    let all = server.received_requests().await.expect("recording is on");
    all.iter().filter(|r| r.url.path() == "/oauth/tokens").count()
}

fn client(server: &MockServer) -> Client {
    Client::new(settings(server, client_credentials())).unwrap()
}

async fn call(client: &Client) -> Result<(), ApiError> {
    client.job_statuses().show_many(&[JobId::from("V3-a")]).await.map(|_| ())
}

fn server_error(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": "InternalError", "description": "try again"}))
}

#[tokio::test]
async fn token_endpoint_503_twice_then_ok() {
    let server = MockServer::start().await;
    token_fails(&server, 2, server_error(503)).await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token (503, 503, 201) then show_many").await;

    let client = client(&server);
    call(&client).await.unwrap();
    assert_eq!(token_requests(&server).await, 3);
    let stats = client.stats();
    assert_eq!(stats.tokens_minted, 1);
    assert_eq!(stats.retries, 2, "the token retries count as retries");
}

#[tokio::test]
async fn token_endpoint_429_waits_retry_after_then_ok() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "0")
        .set_body_string("Number of allowed API requests per minute exceeded");
    token_fails(&server, 1, limited).await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token (429, 201) then show_many").await;

    let client = client(&server);
    call(&client).await.unwrap();
    assert_eq!(token_requests(&server).await, 2);
    assert_eq!(client.stats().rate_limited, 1);
}

#[tokio::test]
async fn token_endpoint_timeout_is_retried() {
    let server = MockServer::start().await;
    // The first answer comes after the client's timeout: the request's answer is lost.
    token_fails(
        &server,
        1,
        ResponseTemplate::new(201)
            .set_body_json(json!({"access_token": "tok-late"}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token (timeout, 201) then show_many").await;

    let client = Client::new(ClientSettings {
        timeout: Duration::from_millis(300),
        ..settings(&server, client_credentials())
    })
    .unwrap();
    call(&client).await.unwrap();
    assert_eq!(token_requests(&server).await, 2);
}

/// A proxy to `target` that reads the first request and hangs up without an answer (the
/// dropped connection of a load balancer), then passes every later connection through.
async fn drop_first_connection(target: &MockServer) -> String {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = *target.address();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            if std::mem::take(&mut first) {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while let Ok(n) = socket.read(&mut buf).await {
                    got.extend_from_slice(&buf[..n]);
                    if n == 0 || got.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                drop(socket);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut up).await;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn token_endpoint_dropped_connection_is_retried() {
    let server = MockServer::start().await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token then show_many").await;
    let proxy = drop_first_connection(&server).await;

    let client = Client::new(ClientSettings {
        base_url: Url::parse(&proxy).unwrap(),
        ..settings(&server, client_credentials())
    })
    .unwrap();
    call(&client).await.unwrap();
    // The dropped request never reached the mock; the retry did.
    assert_eq!(token_requests(&server).await, 1);
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn token_endpoint_failing_until_the_retries_run_out_names_it() {
    let server = MockServer::start().await;
    token_fails(&server, 100, server_error(503)).await;
    catch_all(&server, "token only").await;

    let client = client(&server);
    let err = call(&client).await.unwrap_err();
    // settings(): 3 retries, so 4 requests, then the error.
    assert_eq!(token_requests(&server).await, 4);
    let ApiError::RetriesExhausted { retries: 3, last, .. } = &err else { panic!("{err:?}") };
    // An `Auth`, never an `AnswerLost` (which would read as "the write may have been done").
    let ApiError::Auth { url, status: Some(503), reason } = &**last else { panic!("{last:?}") };
    assert!(url.ends_with("/oauth/tokens"), "{url}");
    assert!(reason.contains("token endpoint answered 503"), "{reason}");
}

#[tokio::test]
async fn wrong_credentials_are_final_after_one_request() {
    let cases = [
        (
            401,
            json!({"error": "invalid_client", "error_description": "The client identifier provided is invalid, the client failed to authenticate"}),
        ),
        (400, json!({"error": "invalid_grant", "error_description": "bad grant"})),
        (400, json!({"error": "unauthorized_client", "error_description": "public client"})),
        (400, json!({"error": "invalid_scope", "error_description": "not allowed"})),
        // A credential code is final whatever the status that came with it.
        (503, json!({"error": "invalid_client"})),
        (403, json!({"error": "Forbidden"})),
        // A server that echoes the secret back: it is still never shown.
        (401, json!({"error": "invalid_client", "error_description": "secret hush is wrong"})),
    ];
    for (status, body) in cases {
        let server = MockServer::start().await;
        token_fails(&server, 100, ResponseTemplate::new(status).set_body_json(&body)).await;
        catch_all(&server, "token only").await;

        let err = call(&client(&server)).await.unwrap_err();
        assert_eq!(token_requests(&server).await, 1, "{status} {body}");
        let ApiError::Auth { url, status: got, .. } = &err else { panic!("{err:?}") };
        assert_eq!(*got, Some(status));
        assert!(url.ends_with("/oauth/tokens"), "{url}");
        let shown = format!("{err} {err:?}");
        let code = body["error"].as_str().unwrap();
        assert!(shown.contains(code) && shown.contains("/oauth/tokens"), "{shown}");
        assert!(!shown.contains("hush"), "{shown}");
    }
}

#[tokio::test]
async fn invalid_client_message_is_clear() {
    let server = MockServer::start().await;
    token_fails(
        &server,
        100,
        ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "The client identifier provided is invalid"
        })),
    )
    .await;
    let err = call(&client(&server)).await.unwrap_err();
    let text = err.to_string();
    let url = format!("{}/oauth/tokens", server.uri());
    assert_eq!(
        text,
        format!(
            "authentication failed for {url}: the token endpoint refused the client credentials \
             (401): invalid_client: The client identifier provided is invalid"
        )
    );
}

#[tokio::test]
async fn renewal_before_expiry_is_retried_mid_run() {
    let server = MockServer::start().await;
    // The first token is due for renewal at once (80 % of 0 s).
    first_token(&server, "tok-1", 0).await;
    // The renewal's first attempt fails.
    token_fails(&server, 1, server_error(500)).await;
    token_ok(&server, "tok-2").await;
    api_accepts(&server, "tok-1").await;
    api_accepts(&server, "tok-2").await;
    catch_all(&server, "token, show_many, token (500, 201), show_many").await;

    let client = client(&server);
    call(&client).await.unwrap();
    call(&client).await.unwrap();
    assert_eq!(token_requests(&server).await, 3);
    assert_eq!(client.stats().tokens_minted, 2);
    let last = server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(last.headers.get("authorization").unwrap(), "Bearer tok-2");
}

#[tokio::test]
async fn renewal_after_invalid_token_is_retried_mid_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"access_token": "tok-1"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(server_error(500))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    token_ok(&server, "tok-2").await;
    Mock::given(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/organizations/update_many.json"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ok_json(crate::client::queued_job()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server, "token, 401, token (500, 201), update_many").await;

    let client = client(&server);
    let job = client.organizations().update_many(&[json!({"id": 1, "notes": "x"})]).await.unwrap();
    assert_eq!(job.status, JobState::Queued);
    assert_eq!(token_requests(&server).await, 3);
    assert_eq!(client.stats().tokens_minted, 2);
}

#[tokio::test]
async fn concurrent_workers_share_one_mint_and_its_retries() {
    let server = MockServer::start().await;
    token_fails(&server, 1, server_error(503).set_delay(Duration::from_millis(200))).await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token (503, 201) then show_many").await;

    let client = client(&server);
    let answers = futures::future::join_all((0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { call(&client).await })
    }))
    .await;
    assert!(answers.into_iter().all(|a| a.unwrap().is_ok()));
    assert_eq!(token_requests(&server).await, 2, "one mint in flight, retried once");
    assert_eq!(client.stats().tokens_minted, 1);
}

#[tokio::test]
async fn workers_waiting_for_a_failed_mint_share_its_error_and_a_later_call_tries_again() {
    let server = MockServer::start().await;
    token_fails(&server, 100, server_error(503).set_delay(Duration::from_millis(50))).await;

    let client = client(&server);
    let answers = futures::future::join_all((0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { call(&client).await })
    }))
    .await;
    for answer in answers {
        let err = answer.unwrap().unwrap_err();
        assert!(matches!(err, ApiError::RetriesExhausted { .. }), "{err:?}");
        assert!(format!("{err:#?}").contains("/oauth/tokens"), "{err:?}");
    }
    assert_eq!(token_requests(&server).await, 4, "one round of 1 + 3 retries, not ten");

    // The endpoint recovers: the next call mints again rather than repeating the old error.
    server.reset().await;
    token_ok(&server, "tok-1").await;
    api_accepts(&server, "tok-1").await;
    call(&client).await.unwrap();
}

#[tokio::test]
async fn workers_waiting_for_a_refused_mint_send_no_second_request() {
    let server = MockServer::start().await;
    token_fails(
        &server,
        100,
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": "invalid_client"}))
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    let client = client(&server);
    let answers = futures::future::join_all((0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { call(&client).await })
    }))
    .await;
    for answer in answers {
        let err = answer.unwrap().unwrap_err();
        assert!(matches!(err, ApiError::Auth { status: Some(401), .. }), "{err:?}");
        assert!(err.to_string().contains("invalid_client"), "{err}");
    }
    assert_eq!(token_requests(&server).await, 1);
}

/// oauth.md §4: a renewal before expiry that fails (every retry spent) keeps the current
/// token while it is still valid, instead of failing the request.
#[tokio::test]
async fn a_failed_renewal_before_expiry_keeps_the_current_token_while_it_is_valid() {
    let server = MockServer::start().await;
    // Valid for 4 s, renewed from 3.2 s on.
    first_token(&server, "tok-1", 4).await;
    // Every later mint fails.
    token_fails(&server, 100, server_error(500)).await;
    api_accepts(&server, "tok-1").await;
    catch_all(&server, "token, show_many, failing renewals, show_many with tok-1").await;

    let client = client(&server);
    let minted = std::time::Instant::now();
    call(&client).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    let second = call(&client).await;
    if minted.elapsed() < Duration::from_secs(4) {
        // The renewal failed, and the request went out with the token still valid.
        second.unwrap();
        assert!(token_requests(&server).await >= 2, "a renewal was tried");
        let last = server.received_requests().await.unwrap().pop().unwrap();
        assert_eq!(last.headers.get("authorization").unwrap(), "Bearer tok-1");
    }
    // (Past 4 s — a very slow machine — the token has run out and the error is the caller's.)
}
