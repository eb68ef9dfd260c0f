//! Sandbox persistence and seeds: `--state` survives a restart with the same ids and working
//! unique indexes, the embedded sandbox's seed is applied once, and a bad `--seed` stops the
//! start with an error naming the section and index. Also the users ↔ memberships link the
//! store must keep consistent (a user's `organization_id` is their default membership's).

use std::path::Path;

use serde_json::{json, Value};
use zdbulk_sandbox::{self as sandbox, SandboxConfig};

use crate::common::{fast_config, zdbulk, Api, TestSandbox};

fn with_state(path: &Path) -> SandboxConfig {
    SandboxConfig { state_path: Some(path.to_path_buf()), ..fast_config() }
}

async fn post_created(api: &Api, path: &str, body: Value) -> Value {
    let a = api.post(path, body).await;
    assert_eq!(a.status, 201, "{path}: {:?}", a.body);
    a.body
}

/// The `key`s of a field list, in list order.
async fn field_keys(api: &Api, collection: &str) -> Vec<String> {
    let a = api.get(&format!("/api/v2/{collection}")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body[collection]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().into())
        .collect()
}

/// Names of the files in a directory.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn state_survives_a_restart_with_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");

    let (org_id, user_id, field_id, membership_id, job_id) = {
        let sb = TestSandbox::start(with_state(&path));
        let api = sb.api();
        let org = post_created(
            &api,
            "/api/v2/organizations",
            json!({"organization": {"name": "Kept Org", "external_id": "kept-1"}}),
        )
        .await;
        let org_id = org["organization"]["id"].as_u64().unwrap();
        let user = post_created(
            &api,
            "/api/v2/users",
            json!({"user": {"name": "Kept User", "email": "kept@example.test"}}),
        )
        .await;
        let user_id = user["user"]["id"].as_u64().unwrap();
        let field = post_created(
            &api,
            "/api/v2/organization_fields",
            json!({"organization_field": {"key": "kept_field", "title": "Kept", "type": "text"}}),
        )
        .await;
        let field_id = field["organization_field"]["id"].as_u64().unwrap();
        post_created(
            &api,
            "/api/v2/user_fields",
            json!({"user_field": {"key": "kept_user_field", "title": "Kept", "type": "integer"}}),
        )
        .await;
        let m = post_created(
            &api,
            "/api/v2/organization_memberships",
            json!({"organization_membership": {"user_id": user_id, "organization_id": org_id}}),
        )
        .await;
        let membership_id = m["organization_membership"]["id"].as_u64().unwrap();
        let a = api
            .post(
                "/api/v2/organizations/create_many",
                json!({"organizations": [{"name": "By job"}]}),
            )
            .await;
        let job_id = a.body["job_status"]["id"].as_str().unwrap().to_string();
        assert_eq!(api.wait_job(&job_id).await["status"], "completed");
        (org_id, user_id, field_id, membership_id, job_id)
    };

    // Saved whole and atomically: valid JSON, no temporary file left beside it; only the lock
    // file, which stays and blocks nobody once its holder has gone.
    assert_eq!(files_in(dir.path()), ["state.json", "state.json.lock"]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(saved.is_object());

    let sb = TestSandbox::start(with_state(&path));
    let api = sb.api();
    let org = api.get(&format!("/api/v2/organizations/{org_id}")).await;
    assert_eq!(org.status, 200);
    assert_eq!(org.body["organization"]["name"], "Kept Org");
    assert_eq!(org.body["organization"]["external_id"], "kept-1");
    let user = api.get(&format!("/api/v2/users/{user_id}")).await;
    assert_eq!(user.body["user"]["email"], "kept@example.test");
    let field = api.get(&format!("/api/v2/organization_fields/{field_id}")).await;
    assert_eq!(field.body["organization_field"]["key"], "kept_field");
    assert_eq!(field_keys(&api, "user_fields").await, vec!["kept_user_field"]);
    let m = api.get(&format!("/api/v2/organization_memberships/{membership_id}")).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["organization_membership"]["user_id"], user_id);
    assert_eq!(m.body["organization_membership"]["organization_id"], org_id);
    assert_eq!(m.body["organization_membership"]["default"], true);
    let job = api.get(&format!("/api/v2/job_statuses/{job_id}")).await;
    assert_eq!(job.body["job_status"]["status"], "completed", "jobs are kept");

    // Unique indexes were rebuilt: the name, the external id and the email are still taken.
    let dup =
        api.post("/api/v2/organizations", json!({"organization": {"name": "kept org"}})).await;
    assert_eq!(dup.status, 422, "{:?}", dup.body);
    let found = api.get("/api/v2/organizations/search?external_id=kept-1").await;
    assert_eq!(found.body["organizations"][0]["id"], org_id);
    let dup = api
        .post("/api/v2/users", json!({"user": {"name": "Other", "email": "KEPT@example.test"}}))
        .await;
    assert_eq!(dup.status, 422, "{:?}", dup.body);

    // Ids keep increasing past every id handed out before the restart.
    let newest = [org_id, user_id, field_id, membership_id].into_iter().max().unwrap();
    let fresh =
        post_created(&api, "/api/v2/organizations", json!({"organization": {"name": "New"}})).await;
    assert!(fresh["organization"]["id"].as_u64().unwrap() > newest, "{fresh}");
}

#[tokio::test]
async fn a_job_in_flight_at_save_completes_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let job_id = {
        let sb = TestSandbox::start(SandboxConfig { job_delay_ms: 600_000, ..with_state(&path) });
        let a = sb
            .api()
            .post("/api/v2/organizations/create_many", json!({"organizations": [{"name": "Late"}]}))
            .await;
        assert_eq!(a.body["job_status"]["status"], "queued");
        a.body["job_status"]["id"].as_str().unwrap().to_string()
    };
    let sb = TestSandbox::start(SandboxConfig { job_delay_ms: 600_000, ..with_state(&path) });
    let api = sb.api();
    let job = api.get(&format!("/api/v2/job_statuses/{job_id}")).await;
    assert_eq!(job.body["job_status"]["status"], "completed", "{:?}", job.body);
    let found = api.get("/api/v2/organizations/search?name=Late").await;
    assert_eq!(found.body["count"], 1);
}

/// The user's `organization_id` and the organization of their `default: true` membership.
async fn default_org(api: &Api, user_id: u64) -> (Value, Value) {
    let user = api.get(&format!("/api/v2/users/{user_id}")).await;
    let list = api.get("/api/v2/organization_memberships").await;
    let default = list.body["organization_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user_id && m["default"] == true)
        .map(|m| m["organization_id"].clone())
        .unwrap_or(Value::Null);
    (user.body["user"]["organization_id"].clone(), default)
}

/// The store keeps users and memberships consistent (what a reload must then preserve): a
/// user's `organization_id` is the organization of their default membership.
#[tokio::test]
async fn a_users_organization_id_follows_their_default_membership() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut orgs = Vec::new();
    for name in ["First", "Second"] {
        let org =
            post_created(&api, "/api/v2/organizations", json!({"organization": {"name": name}}))
                .await;
        orgs.push(org["organization"]["id"].as_u64().unwrap());
    }
    let user = post_created(
        &api,
        "/api/v2/users",
        json!({"user": {"name": "Member", "email": "m@x.test"}}),
    )
    .await;
    let user_id = user["user"]["id"].as_u64().unwrap();
    let mut memberships = Vec::new();
    for org in &orgs {
        let m = post_created(
            &api,
            "/api/v2/organization_memberships",
            json!({"organization_membership": {"user_id": user_id, "organization_id": org}}),
        )
        .await;
        memberships.push(m["organization_membership"]["id"].as_u64().unwrap());
    }
    assert_eq!(default_org(&api, user_id).await, (json!(orgs[0]), json!(orgs[0])));
    let a = api.delete(&format!("/api/v2/organization_memberships/{}", memberships[0])).await;
    assert_eq!(a.status, 204);
    assert_eq!(default_org(&api, user_id).await, (json!(orgs[1]), json!(orgs[1])));
    let a = api.delete(&format!("/api/v2/organization_memberships/{}", memberships[1])).await;
    assert_eq!(a.status, 204);
    assert_eq!(default_org(&api, user_id).await, (Value::Null, Value::Null));
}

/// Deleting an organization leaves no user pointing at it: the user's `organization_id`
/// moves to their next default membership, or to null.
#[tokio::test]
async fn deleting_an_organization_moves_its_users_organization_id() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut orgs = Vec::new();
    for name in ["Doomed", "Survivor"] {
        let org =
            post_created(&api, "/api/v2/organizations", json!({"organization": {"name": name}}))
                .await;
        orgs.push(org["organization"]["id"].as_u64().unwrap());
    }
    // `only` belongs to the doomed organization alone, `both` to both (doomed first).
    let mut users = Vec::new();
    for (name, email) in [("Only", "only@x.test"), ("Both", "both@x.test")] {
        let user = post_created(
            &api,
            "/api/v2/users",
            json!({"user": {"name": name, "email": email, "organization_id": orgs[0]}}),
        )
        .await;
        assert_eq!(user["user"]["organization_id"], orgs[0]);
        users.push(user["user"]["id"].as_u64().unwrap());
    }
    post_created(
        &api,
        "/api/v2/organization_memberships",
        json!({"organization_membership": {"user_id": users[1], "organization_id": orgs[1]}}),
    )
    .await;
    let a = api.delete(&format!("/api/v2/organizations/{}", orgs[0])).await;
    assert_eq!(a.status, 204);
    assert_eq!(default_org(&api, users[0]).await, (Value::Null, Value::Null));
    assert_eq!(default_org(&api, users[1]).await, (json!(orgs[1]), json!(orgs[1])));
}

const SAMPLE_ORG_FIELDS: [&str; 10] = [
    "tier",
    "region",
    "seats",
    "arr",
    "renewal_date",
    "partner",
    "account_code",
    "products",
    "account_notes",
    "crm_owner",
];
const SAMPLE_USER_FIELDS: [&str; 6] =
    ["department", "employee_number", "start_date", "vip", "badge_code", "job_title"];

#[tokio::test]
async fn embedded_sandbox_is_seeded_once_with_the_sample_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox::embedded_config(dir.path());
    assert_eq!(
        config.state_path.as_deref(),
        Some(dir.path().join(".zdbulk/sandbox.json").as_path())
    );
    {
        let sb = TestSandbox::start(sandbox::embedded_config(dir.path()));
        let api = sb.api();
        assert_eq!(field_keys(&api, "organization_fields").await, SAMPLE_ORG_FIELDS);
        assert_eq!(field_keys(&api, "user_fields").await, SAMPLE_USER_FIELDS);
        let a = api.delete("/api/v2/organization_fields/seats").await;
        assert_eq!(a.status, 204, "{:?}", a.body);
    }
    assert!(dir.path().join(".zdbulk/sandbox.json").is_file());

    // The seed is not applied again over an existing state: the deleted field stays deleted.
    let sb = TestSandbox::start(sandbox::embedded_config(dir.path()));
    let api = sb.api();
    let keys = field_keys(&api, "organization_fields").await;
    let expected: Vec<&str> = SAMPLE_ORG_FIELDS.into_iter().filter(|k| *k != "seats").collect();
    assert_eq!(keys, expected);
    assert_eq!(field_keys(&api, "user_fields").await, SAMPLE_USER_FIELDS);
}

/// A seed whose second organization repeats the first one's name.
const BAD_SEED: &str = r#"{"organization_fields": [{"key": "ok", "title": "OK", "type": "text"}],
  "organizations": [{"name": "Twin"}, {"name": "Twin"}]}"#;

#[tokio::test]
async fn a_bad_seed_item_stops_the_start_naming_section_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("bad.json");
    std::fs::write(&seed, BAD_SEED).unwrap();
    let config = SandboxConfig { seed_path: Some(seed.clone()), ..fast_config() };
    let addr = "127.0.0.1:0".parse().unwrap();
    let err = match sandbox::start(config, addr).await {
        Ok(_) => panic!("a bad seed must not start"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("organizations[1]"), "{err}");

    let bad_field = dir.path().join("bad_field.json");
    std::fs::write(
        &bad_field,
        r#"{"user_fields": [{"key": "a", "title": "A", "type": "nonsense"}]}"#,
    )
    .unwrap();
    let config = SandboxConfig { seed_path: Some(bad_field), ..fast_config() };
    let err = match sandbox::start(config, addr).await {
        Ok(_) => panic!("a bad seed must not start"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("user_fields[0]"), "{err}");
}

#[test]
fn the_binary_refuses_a_bad_seed_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("bad.json");
    std::fs::write(&seed, BAD_SEED).unwrap();
    zdbulk()
        .args(["sandbox", "--addr", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("organizations[1]"));
}
