//! Sandbox authentication and OAuth over HTTP: basic and bearer checks, the three token
//! grants, refresh rotation, scopes, the token-expire fault, `/users/me`, token revocation and
//! time-scaled expiry.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use zdbulk_sandbox::{FaultSpec, SandboxConfig};

use crate::common::{fast_config, Answer, Auth, TestSandbox};

const CLIENT_ID: &str = "zdbulk-sandbox";
const SECRET: &str = "sandbox-secret";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const VERIFIER: &str = "a-test-verifier-that-is-long-enough-for-rfc-7636-rules";
const INVALID_TOKEN: &str =
    "The access token provided is expired, revoked, malformed or invalid for other reasons.";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// A client that does not follow redirects, to read the authorization page's `Location`.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn client_credentials(sb: &TestSandbox, scope: &str) -> Answer {
    sb.api()
        .with_auth(Auth::None)
        .post(
            "/oauth/tokens",
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                   "client_secret": SECRET, "scope": scope}),
        )
        .await
}

async fn bearer_token(sb: &TestSandbox, scope: &str) -> String {
    let a = client_credentials(sb, scope).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["access_token"].as_str().unwrap().to_string()
}

/// Runs the authorization page with `extra` query pairs and returns the `Location` header.
async fn authorize(sb: &TestSandbox, extra: &[(&str, &str)]) -> (u16, String, Value) {
    let chal = challenge(VERIFIER);
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", "read write"),
        ("state", "xyz 1"),
        ("code_challenge", chal.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        query.retain(|(key, _)| key != k);
        query.push((k, v));
    }
    let resp = no_redirects()
        .get(format!("{}/oauth/authorizations/new", sb.url))
        .query(&query)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location =
        resp.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
    (status, location, body)
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn code(sb: &TestSandbox) -> String {
    let (status, location, _) = authorize(sb, &[]).await;
    assert_eq!(status, 302);
    query_param(&location, "code").expect("a code in the redirect")
}

async fn exchange(sb: &TestSandbox, code: &str, verifier: &str, redirect: &str) -> Answer {
    sb.api()
        .with_auth(Auth::None)
        .post(
            "/oauth/tokens",
            json!({"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
                   "redirect_uri": redirect, "code_verifier": verifier}),
        )
        .await
}

async fn refresh(sb: &TestSandbox, refresh_token: &str) -> Answer {
    sb.api()
        .with_auth(Auth::None)
        .post(
            "/oauth/tokens",
            json!({"grant_type": "refresh_token", "refresh_token": refresh_token,
                   "client_id": CLIENT_ID}),
        )
        .await
}

async fn get_as(sb: &TestSandbox, auth: Auth, path: &str) -> Answer {
    sb.api().with_auth(auth).get(path).await
}

fn bearer(token: &str) -> Auth {
    Auth::Bearer(token.to_string())
}

fn assert_invalid_token(a: &Answer) {
    assert_eq!(a.status, 401, "{:?}", a.body);
    assert_eq!(a.body, json!({"error": "invalid_token", "error_description": INVALID_TOKEN}));
    assert!(a.header("www-authenticate").starts_with("Bearer realm=\"Zendesk::OAuth Bearer"));
    assert!(a.header("www-authenticate").contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn basic_token_credentials_are_checked() {
    let sb = TestSandbox::fast();
    assert_eq!(sb.api().get("/api/v2/job_statuses").await.status, 200);
    // The email compares case-insensitively.
    let upper = Auth::Basic("ADMIN@Sandbox.test".into(), "sandbox-token".into());
    assert_eq!(get_as(&sb, upper, "/api/v2/job_statuses").await.status, 200);

    let wrong = Auth::Basic("admin@sandbox.test".into(), "nope".into());
    let a = get_as(&sb, wrong, "/api/v2/job_statuses.json").await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, json!({"error": "Couldn't authenticate you"}));
    assert_eq!(a.header("www-authenticate"), "Basic realm=\"Web Password\"");

    let none = get_as(&sb, Auth::None, "/api/v2/job_statuses").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body, json!({"error": "Couldn't authenticate you"}));
}

#[tokio::test]
async fn client_credentials_grant_issues_a_working_token_without_refresh() {
    let sb = TestSandbox::fast();
    let a = client_credentials(&sb, "read write").await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(keys(&a.body), ["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!(a.body["token_type"], "bearer");
    assert_eq!(a.body["scope"], "read write");
    assert_eq!(a.body["expires_in"], 1800);
    let token = a.body["access_token"].as_str().unwrap();
    assert_eq!(get_as(&sb, bearer(token), "/api/v2/job_statuses").await.status, 200);
    assert_invalid_token(&get_as(&sb, bearer("not-a-token"), "/api/v2/job_statuses").await);
}

#[tokio::test]
async fn token_endpoint_errors_are_rfc_6749_shaped() {
    let sb = TestSandbox::fast();
    let api = sb.api().with_auth(Auth::None);
    let post = |body: Value| {
        let api = api.clone();
        async move { api.post("/oauth/tokens", body).await }
    };
    let wrong_secret = post(json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": "wrong", "scope": "read"}))
    .await;
    assert_eq!(wrong_secret.status, 401);
    assert_eq!(wrong_secret.body["error"], "invalid_client");
    assert!(wrong_secret.body["error_description"].is_string());

    let wrong_client = post(json!({"grant_type": "client_credentials", "client_id": "other",
        "client_secret": SECRET, "scope": "read"}))
    .await;
    assert_eq!(wrong_client.body["error"], "invalid_client");

    let grant = post(json!({"grant_type": "password", "client_id": CLIENT_ID})).await;
    assert_eq!((grant.status, grant.body["error"].as_str()), (400, Some("unsupported_grant_type")));

    let scope = client_credentials(&sb, "read tickets:write").await;
    assert_eq!((scope.status, scope.body["error"].as_str()), (400, Some("invalid_scope")));
    let no_scope = post(json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": SECRET}))
    .await;
    assert_eq!((no_scope.status, no_scope.body["error"].as_str()), (400, Some("invalid_request")));

    for ttl in [299, 172_801] {
        let a = post(json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": SECRET, "scope": "read", "expires_in": ttl}))
        .await;
        assert_eq!((a.status, a.body["error"].as_str()), (400, Some("invalid_request")), "{ttl}");
    }
    let ok = post(json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": SECRET, "scope": "read", "expires_in": 300}))
    .await;
    assert_eq!((ok.status, ok.body["expires_in"].as_u64()), (201, Some(300)));
}

#[tokio::test]
async fn form_encoded_token_requests_are_accepted() {
    let sb = TestSandbox::fast();
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/tokens", sb.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "read write"),
            ("expires_in", "600"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 600);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(get_as(&sb, bearer(token), "/api/v2/job_statuses").await.status, 200);
}

#[tokio::test]
async fn authorization_code_with_pkce_issues_a_pair_once() {
    let sb = TestSandbox::fast();
    let (status, location, _) = authorize(&sb, &[]).await;
    assert_eq!(status, 302);
    assert!(location.starts_with("http://127.0.0.1:8765/callback?"), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz 1"));
    let code = query_param(&location, "code").unwrap();

    let a = exchange(&sb, &code, VERIFIER, REDIRECT).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(
        keys(&a.body),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(a.body["scope"], "read write");
    assert_eq!(a.body["expires_in"], 1800);
    assert_eq!(a.body["refresh_token_expires_in"], 2_592_000);
    let token = a.body["access_token"].as_str().unwrap();
    assert_eq!(get_as(&sb, bearer(token), "/api/v2/job_statuses").await.status, 200);

    let reused = exchange(&sb, &code, VERIFIER, REDIRECT).await;
    assert_eq!((reused.status, reused.body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn authorization_code_refuses_a_wrong_verifier_or_redirect() {
    let sb = TestSandbox::fast();
    let bad_verifier = exchange(&sb, &code(&sb).await, "another-verifier", REDIRECT).await;
    assert_eq!(
        (bad_verifier.status, bad_verifier.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let other = "http://127.0.0.1:9999/callback";
    let bad_redirect = exchange(&sb, &code(&sb).await, VERIFIER, other).await;
    assert_eq!(bad_redirect.body["error"], "invalid_grant");
    let unknown = exchange(&sb, "no-such-code", VERIFIER, REDIRECT).await;
    assert_eq!(unknown.body["error"], "invalid_grant");
}

#[tokio::test]
async fn authorization_page_validates_before_redirecting() {
    let sb = TestSandbox::fast();
    let (status, location, body) = authorize(&sb, &[("client_id", "other")]).await;
    assert_eq!((status, location.as_str()), (400, ""));
    assert_eq!(body["error"], "invalid_client");

    let (status, location, body) =
        authorize(&sb, &[("redirect_uri", "http://evil.example/cb")]).await;
    assert_eq!((status, location.as_str()), (400, ""));
    assert_eq!(body["error"], "invalid_request");

    let (status, location, _) = authorize(&sb, &[("code_challenge_method", "plain")]).await;
    assert_eq!(status, 302);
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&location, "code"), None);

    let (status, location, _) = authorize(&sb, &[("scope", "read tickets:read")]).await;
    assert_eq!(status, 302);
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_scope"));

    let (status, location, _) = authorize(&sb, &[("deny", "1")]).await;
    assert_eq!(status, 302);
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz 1"));
    assert!(query_param(&location, "error_description").unwrap().contains("denied"));
}

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let sb = TestSandbox::fast();
    let first = exchange(&sb, &code(&sb).await, VERIFIER, REDIRECT).await;
    let old_access = first.body["access_token"].as_str().unwrap();
    let old_refresh = first.body["refresh_token"].as_str().unwrap();

    let second = refresh(&sb, old_refresh).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let new_access = second.body["access_token"].as_str().unwrap();
    let new_refresh = second.body["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(second.body["scope"], "read write");

    assert_invalid_token(&get_as(&sb, bearer(old_access), "/api/v2/job_statuses").await);
    assert_eq!(get_as(&sb, bearer(new_access), "/api/v2/job_statuses").await.status, 200);
    let third = refresh(&sb, new_refresh).await;
    assert_eq!(third.status, 201);
    let third_access = third.body["access_token"].as_str().unwrap();
    let third_refresh = third.body["refresh_token"].as_str().unwrap();

    // Reuse detection (docs/sandbox.md): a spent refresh token coming back is refused and
    // ends the whole login, its live pair included.
    let stale = refresh(&sb, old_refresh).await;
    assert_eq!((stale.status, stale.body["error"].as_str()), (400, Some("invalid_grant")));
    assert_invalid_token(&get_as(&sb, bearer(third_access), "/api/v2/job_statuses").await);
    let after = refresh(&sb, third_refresh).await;
    assert_eq!((after.status, after.body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn bearer_tokens_need_the_scope_of_the_request() {
    let sb = TestSandbox::fast();
    let read_only = bearer(&bearer_token(&sb, "read").await);
    let a = sb.api().with_auth(read_only.clone()).post("/api/v2/organizations", json!({})).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.body,
        json!({"error": "Forbidden", "description": "You are missing the following required scopes: write"})
    );
    assert_eq!(get_as(&sb, read_only, "/api/v2/job_statuses").await.status, 200);

    let org_writer = bearer(&bearer_token(&sb, "read organizations:write").await);
    let api = sb.api().with_auth(org_writer);
    let users = api.post("/api/v2/users", json!({})).await;
    assert_eq!(users.status, 403);
    let orgs = api.post("/api/v2/organizations", json!({})).await;
    assert!(![401, 403].contains(&orgs.status), "organizations:write lets it through: {orgs:?}");

    let write_only = bearer(&bearer_token(&sb, "write").await);
    let a = get_as(&sb, write_only, "/api/v2/job_statuses").await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body["description"], "You are missing the following required scopes: read");
}

#[tokio::test]
async fn token_expire_fault_kills_the_token() {
    let faults = FaultSpec { token_expire: 1.0, ..FaultSpec::default() };
    let sb = TestSandbox::start(SandboxConfig { faults, ..fast_config() });
    let token = bearer_token(&sb, "read write").await;
    assert_invalid_token(&get_as(&sb, bearer(&token), "/api/v2/job_statuses").await);
    // The token stays dead; basic credentials are not affected by the fault.
    assert_invalid_token(&get_as(&sb, bearer(&token), "/api/v2/job_statuses").await);
    assert_eq!(sb.api().get("/api/v2/job_statuses").await.status, 200);
    let stats = sb.api().get("/sandbox/stats").await;
    assert_eq!(stats.body["faults"]["token-expire"], 1);
}

#[tokio::test]
async fn users_me_answers_anonymously_without_valid_credentials() {
    let sb = TestSandbox::fast();
    let admin = sb.api().get("/api/v2/users/me.json").await;
    assert_eq!(admin.status, 200);
    let user = &admin.body["user"];
    assert_eq!(user["name"], "Sandbox Admin");
    assert_eq!(user["email"], "admin@sandbox.test");
    assert_eq!(user["role"], "admin");
    assert!(user["id"].is_u64());
    // The key set of the recorded POST /api/v2/users answer.
    let recorded = [
        "active",
        "alias",
        "created_at",
        "custom_role_id",
        "default_group_id",
        "details",
        "email",
        "external_id",
        "iana_time_zone",
        "id",
        "last_login_at",
        "locale",
        "locale_id",
        "moderator",
        "name",
        "notes",
        "only_private_comments",
        "organization_id",
        "phone",
        "photo",
        "report_csv",
        "restricted_agent",
        "role",
        "role_type",
        "shared",
        "shared_agent",
        "shared_phone_number",
        "signature",
        "suspended",
        "tags",
        "ticket_restriction",
        "time_zone",
        "two_factor_auth_enabled",
        "updated_at",
        "url",
        "user_fields",
        "verified",
    ];
    assert_eq!(keys(user), recorded);

    let token = bearer_token(&sb, "read").await;
    let via_bearer = get_as(&sb, bearer(&token), "/api/v2/users/me").await;
    assert_eq!(via_bearer.body["user"]["name"], "Sandbox Admin");

    let anonymous = json!({"user": {"name": "Anonymous user"}});
    let none = get_as(&sb, Auth::None, "/api/v2/users/me.json").await;
    assert_eq!((none.status, &none.body), (200, &anonymous));
    let wrong = Auth::Basic("admin@sandbox.test".into(), "wrong".into());
    let bad = get_as(&sb, wrong, "/api/v2/users/me").await;
    assert_eq!((bad.status, &bad.body), (200, &anonymous));
}

#[tokio::test]
async fn current_token_is_shown_truncated_and_can_be_revoked() {
    let sb = TestSandbox::fast();
    let token = bearer_token(&sb, "read").await;
    let me = sb.api().with_auth(bearer(&token));
    let current = me.get("/api/v2/oauth/tokens/current.json").await;
    assert_eq!(current.status, 200, "{:?}", current.body);
    let record = &current.body["token"];
    let id = record["id"].as_u64().unwrap();
    let shown = record["token"].as_str().unwrap();
    assert!(!shown.is_empty() && shown.len() < token.len() && token.starts_with(shown));
    assert_eq!(record["scopes"], json!(["read"]));
    assert!(record["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(record["expires_at"].as_str().unwrap().ends_with('Z'));

    // Another read-only token may not revoke it; an unknown id is 404.
    let other = sb.api().with_auth(bearer(&bearer_token(&sb, "read").await));
    assert_eq!(other.delete(&format!("/api/v2/oauth/tokens/{id}.json")).await.status, 403);
    assert_eq!(me.delete("/api/v2/oauth/tokens/1").await.status, 404);

    let revoked = me.delete(&format!("/api/v2/oauth/tokens/{id}.json")).await;
    assert_eq!(revoked.status, 204);
    assert_invalid_token(&me.get("/api/v2/job_statuses").await);
    assert_eq!(other.get("/api/v2/job_statuses").await.status, 200);
}

#[tokio::test]
async fn tokens_and_codes_expire_in_sandbox_time() {
    // At --time-scale 300, 300 sandbox seconds are 1 real second and a code's 120 s are 0.4 s.
    let sb = TestSandbox::start(SandboxConfig { time_scale: 300.0, ..fast_config() });
    let a = sb
        .api()
        .with_auth(Auth::None)
        .post(
            "/oauth/tokens",
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                   "client_secret": SECRET, "scope": "read", "expires_in": 300}),
        )
        .await;
    let token = a.body["access_token"].as_str().unwrap().to_string();
    let stale_code = code(&sb).await;
    assert_eq!(get_as(&sb, bearer(&token), "/api/v2/job_statuses").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_invalid_token(&get_as(&sb, bearer(&token), "/api/v2/job_statuses").await);
    let late = exchange(&sb, &stale_code, VERIFIER, REDIRECT).await;
    assert_eq!((late.status, late.body["error"].as_str()), (400, Some("invalid_grant")));
}
