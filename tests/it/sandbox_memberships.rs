//! The sandbox's organization membership endpoints through HTTP: the account-wide list,
//! show, create/destroy (one and many), and the lists scoped to one user or organization.

use serde_json::{json, Value};

use crate::common::{Api, TestSandbox};

async fn org_id(api: &Api) -> u64 {
    let a = api.post("/api/v2/organizations", json!({"organization": {"name": "Acme"}})).await;
    a.body["organization"]["id"].as_u64().unwrap()
}

#[tokio::test]
async fn list_starts_empty_and_unknown_ids_are_404() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = api.get("/api/v2/organization_memberships.json").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"organization_memberships": [], "next_page": null, "previous_page": null, "count": 0})
    );
    let cursor = api.get("/api/v2/organization_memberships?page[size]=10").await;
    assert_eq!(cursor.body["meta"]["has_more"], false);
    for path in ["/api/v2/organization_memberships/12345", "/api/v2/organization_memberships/abc"] {
        assert_eq!(api.get(path).await.status, 404, "{path}");
        let d = api.delete(path).await;
        assert_eq!((d.status, &d.body["error"]), (404, &json!("RecordNotFound")), "{path}");
    }
}

#[tokio::test]
async fn create_refuses_an_unknown_organization() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = api
        .post(
            "/api/v2/organization_memberships.json",
            json!({"organization_membership": {"user_id": 1, "organization_id": 424242}}),
        )
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["error"], "RecordInvalid");
    assert!(a.body["details"]["organization_id"].is_array(), "{:?}", a.body);
}

#[tokio::test]
async fn create_many_runs_a_job_and_fails_bad_items_one_by_one() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let org = org_id(&api).await;
    let body = json!({"organization_memberships": [
        {"user_id": 1, "organization_id": 424242},
        {"user_id": 1, "organization_id": org},
    ]});
    let a = api.post("/api/v2/organization_memberships/create_many.json", body).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["job_status"]["total"], 2);
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    let results = job["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["index"], 0);
    assert_eq!(results[0]["success"], false);
    assert_eq!(results[1]["index"], 1);
    let list = api.get("/api/v2/organization_memberships").await;
    assert_eq!(list.body["count"], 0);

    let many: Vec<Value> =
        (0..101).map(|i| json!({"user_id": i, "organization_id": org})).collect();
    let a = api
        .post(
            "/api/v2/organization_memberships/create_many",
            json!({ "organization_memberships": many }),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"], "TooManyValues");
}

#[tokio::test]
async fn destroy_many_reports_unknown_ids_and_needs_ids() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = api.delete("/api/v2/organization_memberships/destroy_many.json?ids=5,6").await;
    assert_eq!(a.status, 200);
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(job["results"][1]["error"], "RecordNotFound");
    assert_eq!(job["results"][1]["id"], 6);
    assert_eq!(api.delete("/api/v2/organization_memberships/destroy_many").await.status, 400);
}

/// Creates an organization named `name` and returns its id.
async fn named_org(api: &Api, name: &str) -> u64 {
    let a = api.post("/api/v2/organizations", json!({"organization": {"name": name}})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["organization"]["id"].as_u64().unwrap()
}

/// Creates a user (with a default organization if given) and returns its id.
async fn user(api: &Api, name: &str, org: Option<u64>) -> u64 {
    let a =
        api.post("/api/v2/users", json!({"user": {"name": name, "organization_id": org}})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["user"]["id"].as_u64().unwrap()
}

/// Makes `user` a member of `org` and returns the membership id.
async fn member(api: &Api, user: u64, org: u64) -> u64 {
    let body = json!({"organization_membership": {"user_id": user, "organization_id": org}});
    let a = api.post("/api/v2/organization_memberships", body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["organization_membership"]["id"].as_u64().unwrap()
}

/// `(user_id, organization_id)` of each membership in a list answer.
fn pairs(body: &Value) -> Vec<(u64, u64)> {
    let list = body["organization_memberships"].as_array().unwrap();
    list.iter()
        .map(|m| (m["user_id"].as_u64().unwrap(), m["organization_id"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn one_users_and_one_organizations_memberships_are_listed_alone() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let (a, b) = (named_org(&api, "A").await, named_org(&api, "B").await);
    let ann = user(&api, "Ann", Some(a)).await;
    let bob = user(&api, "Bob", None).await;
    let lonely = user(&api, "Lonely", None).await;
    member(&api, ann, b).await;
    member(&api, bob, a).await;

    let mine = api.get(&format!("/api/v2/users/{ann}/organization_memberships.json")).await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    assert_eq!(pairs(&mine.body), vec![(ann, a), (ann, b)]);
    assert_eq!(mine.body["count"], 2);
    assert_eq!(mine.body["next_page"], Value::Null);
    // The same record shape as the account-wide list: the first membership is the default.
    let first = &mine.body["organization_memberships"][0];
    assert_eq!(first["default"], true);
    assert_eq!(first["organization_name"], "A");
    assert_eq!(mine.body["organization_memberships"][1]["default"], Value::Null);

    let theirs = api.get(&format!("/api/v2/organizations/{a}/organization_memberships")).await;
    assert_eq!(theirs.status, 200, "{:?}", theirs.body);
    assert_eq!(pairs(&theirs.body), vec![(ann, a), (bob, a)]);
    let b_list = api.get(&format!("/api/v2/organizations/{b}/organization_memberships")).await;
    assert_eq!(pairs(&b_list.body), vec![(ann, b)]);

    let none = api.get(&format!("/api/v2/users/{lonely}/organization_memberships")).await;
    assert_eq!(
        none.body,
        json!({"organization_memberships": [], "next_page": null, "previous_page": null, "count": 0})
    );
}

#[tokio::test]
async fn scoped_lists_paginate_by_cursor_and_offset_under_their_own_path() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let org = named_org(&api, "Big").await;
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(user(&api, &format!("U{i}"), Some(org)).await);
    }
    let path = format!("/api/v2/organizations/{org}/organization_memberships");

    // Cursor: a walk of pages of two follows links.next until has_more is false.
    let mut seen = Vec::new();
    let mut next = format!("{path}.json?page[size]=2");
    loop {
        let page = api.get(&next).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(pairs(&page.body).into_iter().map(|(u, _)| u));
        if page.body["meta"]["has_more"] == false {
            break;
        }
        let link = page.body["links"]["next"].as_str().unwrap();
        assert!(link.starts_with(&format!("{}{path}.json?", sb.url)), "{link}");
        next = link.trim_start_matches(&sb.url).to_string();
    }
    assert_eq!(seen, users);

    // Offset: page 1 of 2 per page links to page 2 of the same scoped list.
    let page = api.get(&format!("{path}?per_page=2")).await;
    assert_eq!(page.body["count"], 3);
    assert_eq!(pairs(&page.body).len(), 2);
    assert_eq!(page.body["next_page"], format!("{}{path}.json?page=2&per_page=2", sb.url));
    let user_path = format!("/api/v2/users/{}/organization_memberships", users[0]);
    let page = api.get(&format!("{user_path}?page[size]=1")).await;
    assert_eq!(page.body["meta"]["has_more"], false);
    assert_eq!(pairs(&page.body), vec![(users[0], org)]);
}

#[tokio::test]
async fn scoped_lists_of_unknown_users_and_organizations_are_404() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let org = named_org(&api, "A").await;
    let gone = user(&api, "Gone", Some(org)).await;
    for path in [
        "/api/v2/users/424242/organization_memberships.json".to_string(),
        "/api/v2/users/abc/organization_memberships".to_string(),
        "/api/v2/organizations/424242/organization_memberships".to_string(),
        format!("/api/v2/users/{org}/organization_memberships"),
    ] {
        let a = api.get(&path).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.body["error"], "RecordNotFound", "{path}");
    }
    // A deleted user is still known by id; its memberships went with it.
    assert_eq!(api.delete(&format!("/api/v2/users/{gone}")).await.status, 200);
    let a = api.get(&format!("/api/v2/users/{gone}/organization_memberships")).await;
    assert_eq!((a.status, &a.body["count"]), (200, &json!(0)));
    // A deleted organization is not.
    assert_eq!(api.delete(&format!("/api/v2/organizations/{org}")).await.status, 204);
    let a = api.get(&format!("/api/v2/organizations/{org}/organization_memberships")).await;
    assert_eq!(a.status, 404);
}
