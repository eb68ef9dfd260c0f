//! The sandbox's organization membership endpoints through HTTP. Creating a membership needs
//! a real user, which the users module provides; these tests cover what needs none.

use serde_json::{json, Value};

use crate::common::TestSandbox;

async fn org_id(api: &crate::common::Api) -> u64 {
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
