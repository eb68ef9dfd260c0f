//! The sandbox's organization endpoints through HTTP, checked against the recorded shapes.

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use crate::common::{fast_config, Api, TestSandbox};

/// The keys of an organization, in the recorded order.
const ORG_KEYS: [&str; 14] = [
    "url",
    "id",
    "name",
    "shared_tickets",
    "shared_comments",
    "external_id",
    "created_at",
    "updated_at",
    "domain_names",
    "details",
    "notes",
    "group_id",
    "tags",
    "organization_fields",
];

async fn create(api: &Api, org: Value) -> Value {
    let a = api.post("/api/v2/organizations.json", json!({ "organization": org })).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["organization"].clone()
}

/// Runs a create_many job to its end and returns its results.
async fn create_many(api: &Api, orgs: Vec<Value>) -> Vec<Value> {
    let a =
        api.post("/api/v2/organizations/create_many.json", json!({ "organizations": orgs })).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed");
    job["results"].as_array().unwrap().clone()
}

fn named(prefix: &str, n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({ "name": format!("{prefix} {i:03}") })).collect()
}

fn ids(results: &[Value]) -> Vec<u64> {
    results.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_recorded_record() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a =
        api.post("/api/v2/organizations.json", json!({"organization": {"name": "  Acme  "}})).await;
    assert_eq!(a.status, 201);
    let org = &a.body["organization"];
    let keys: Vec<&str> = org.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ORG_KEYS);
    assert_eq!(a.header("location"), org["url"].as_str().unwrap());
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["shared_tickets"], false);
    assert_eq!(org["external_id"], Value::Null);
    assert_eq!(org["domain_names"], json!([]));
    assert_eq!(org["tags"], json!([]));
    assert_eq!(org["organization_fields"], json!({}));
    let id = org["id"].as_u64().unwrap();
    assert_eq!(org["url"], format!("{}/api/v2/organizations/{id}.json", sb.url));

    let shown = api.get(&format!("/api/v2/organizations/{id}.json")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(&shown.body["organization"], org);
    let count = api.get("/api/v2/organizations/count.json").await;
    assert_eq!(count.body["count"]["value"], 1);
    assert!(count.body["count"]["refreshed_at"].is_string());
}

#[tokio::test]
async fn invalid_names_are_422_record_invalid() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    create(&api, json!({"name": "Lorem Ipsum"})).await;
    let dup =
        api.post("/api/v2/organizations", json!({"organization": {"name": "lorem ipsum "}})).await;
    assert_eq!(dup.status, 422);
    assert_eq!(
        dup.body,
        json!({"error": "RecordInvalid", "description": "Record validation errors", "details":
               {"name": [{"description": "Name: lorem ipsum has already been taken", "error": "DuplicateValue"}]}})
    );
    for bad in [json!({"name": "  "}), json!({}), json!({"name": "A|B"})] {
        let a = api.post("/api/v2/organizations", json!({ "organization": bad })).await;
        assert_eq!(a.status, 422, "{bad}");
        assert!(a.body["details"]["name"].is_array(), "{:?}", a.body);
    }
    create(&api, json!({"name": "Other", "external_id": "EXT-1"})).await;
    let ext = api
        .post(
            "/api/v2/organizations",
            json!({"organization": {"name": "Third", "external_id": "ext-1"}}),
        )
        .await;
    assert_eq!(ext.status, 422);
    assert_eq!(ext.body["details"]["external_id"][0]["error"], "DuplicateValue");
    let wrong_type = api
        .post("/api/v2/organizations", json!({"organization": {"name": "X", "group_id": "g"}}))
        .await;
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("organization.group_id"));
}

#[tokio::test]
async fn update_replaces_lists_warns_about_id_and_404s_unknown_records() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let org =
        create(&api, json!({"name": "Acme", "domain_names": ["a.com", "b.com"], "tags": ["x"]}))
            .await;
    let id = org["id"].as_u64().unwrap();
    let body = json!({"organization": {"id": id, "domain_names": ["c.com"], "tags": [], "notes": "n",
                                       "shared_tickets": true}});
    let a = api.put(&format!("/api/v2/organizations/{id}.json"), body.clone()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let updated = &a.body["organization"];
    assert_eq!(updated["domain_names"], json!(["c.com"]));
    assert_eq!(updated["tags"], json!([]));
    assert_eq!(updated["notes"], "n");
    assert_eq!(updated["shared_tickets"], true);
    assert_eq!(updated["name"], "Acme");
    assert_eq!(
        a.header("x-zendesk-api-warn"),
        r#"{:allowed_parameters=>{:controller=>"organizations", :action=>"update", :unpermitted_keys=>["organization.id"], :invalid_values=>[]}}"#
    );

    let missing = api.put("/api/v2/organizations/9223372036854775807.json", body).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({"error": "RecordNotFound", "description": "Not found"}));
    let words = api.put("/api/v2/organizations/abc", json!({"organization": {}})).await;
    assert_eq!(words.status, 404);

    create(&api, json!({"name": "Taken"})).await;
    let clash = api
        .put(&format!("/api/v2/organizations/{id}"), json!({"organization": {"name": "TAKEN"}}))
        .await;
    assert_eq!(clash.status, 422);
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let id = create(&api, json!({"name": "Gone"})).await["id"].as_u64().unwrap();
    let a = api.delete(&format!("/api/v2/organizations/{id}.json")).await;
    assert_eq!(a.status, 204);
    assert_eq!(api.get(&format!("/api/v2/organizations/{id}.json")).await.status, 404);
    let again = api.delete(&format!("/api/v2/organizations/{id}.json")).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["error"], "RecordNotFound");
    // The freed name can be used again.
    create(&api, json!({"name": "gone"})).await;
}

#[tokio::test]
async fn create_or_update_matches_by_external_id_only() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let path = "/api/v2/organizations/create_or_update.json";
    let a = api.post(path, json!({"organization": {"name": "Acme", "external_id": "A1"}})).await;
    assert_eq!(a.status, 201);
    assert!(!a.header("location").is_empty());
    let id = a.body["organization"]["id"].clone();
    let b =
        api.post(path, json!({"organization": {"name": "Acme Ltd", "external_id": "a1"}})).await;
    assert_eq!(b.status, 200);
    assert_eq!(b.body["organization"]["id"], id);
    assert_eq!(b.body["organization"]["name"], "Acme Ltd");
    let by_id = api.post(path, json!({"organization": {"id": id, "notes": "x"}})).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.body["organization"]["notes"], "x");
    // A name never matches: the same name with another external id is a duplicate.
    let c =
        api.post(path, json!({"organization": {"name": "acme ltd", "external_id": "B2"}})).await;
    assert_eq!(c.status, 422);
}

#[tokio::test]
async fn create_or_update_many_does_not_exist() {
    let sb = TestSandbox::fast();
    let a = sb
        .api()
        .post("/api/v2/organizations/create_or_update_many.json", json!({"organizations": []}))
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"error": "InvalidEndpoint", "description": "Not found"}));
}

#[tokio::test]
async fn create_many_goes_queued_working_completed_with_results_in_order() {
    let config = SandboxConfig { job_delay_ms: 300, job_item_ms: 20, ..fast_config() };
    let sb = TestSandbox::start(config);
    let api = sb.api();
    let orgs = named("Org", 100);
    let a =
        api.post("/api/v2/organizations/create_many.json", json!({ "organizations": orgs })).await;
    assert_eq!(a.status, 200);
    let queued = &a.body["job_status"];
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["total"], 100);
    assert_eq!(queued["results"], Value::Null);
    let job_id = queued["id"].as_str().unwrap().to_string();

    let mut seen_working = None;
    for _ in 0..100 {
        let s = api.get(&format!("/api/v2/job_statuses/{job_id}")).await.body["job_status"].clone();
        if s["status"] != "queued" {
            seen_working = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let working = seen_working.expect("the job left the queue");
    assert_eq!(working["status"], "working", "{working}");
    assert_eq!(working["results"], Value::Null);
    assert!(working["message"].as_str().unwrap().starts_with("Creating organization #"));

    let done = api.wait_job(&job_id).await;
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|r| r.as_object().unwrap().len() == 2 && r["status"] == "Created"));
    // Result i is the organization of request item i.
    for (i, id) in ids(results).iter().enumerate().step_by(9) {
        let org = api.get(&format!("/api/v2/organizations/{id}")).await;
        assert_eq!(org.body["organization"]["name"], format!("Org {i:03}"));
    }
}

#[tokio::test]
async fn over_100_items_is_400_too_many_values_as_recorded() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let recorded = json!({"error": "TooManyValues",
                          "description": "Parameter  cannot specify more than 100 values", "max_count": 100});
    let a = api
        .post("/api/v2/organizations/create_many", json!({"organizations": named("O", 101)}))
        .await;
    assert_eq!((a.status, &a.body), (400, &recorded));
    let batch: Vec<Value> = (1..=101).map(|i| json!({"id": i, "notes": "n"})).collect();
    let a = api.put("/api/v2/organizations/update_many", json!({ "organizations": batch })).await;
    assert_eq!((a.status, &a.body), (400, &recorded));
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let list = many.join(",");
    let a = api.delete(&format!("/api/v2/organizations/destroy_many?ids={list}")).await;
    assert_eq!((a.status, &a.body), (400, &recorded));
    let a = api.get(&format!("/api/v2/organizations/show_many?ids={list}")).await;
    assert_eq!((a.status, &a.body), (400, &recorded));
    let a = api
        .put(&format!("/api/v2/organizations/update_many?ids={list}"), json!({"organization": {}}))
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn duplicates_inside_one_job_fail_one_by_one() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let results = create_many(
        &api,
        vec![json!({"name": "Twin"}), json!({"name": "twin "}), json!({"name": "Solo"})],
    )
    .await;
    assert_eq!(results[0]["status"], "Created");
    assert_eq!(results[1]["index"], 1);
    assert_eq!(results[1]["error"], "OrganizationCreateFailed");
    assert_eq!(results[1]["details"], "Name:  twin has already been taken");
    assert_eq!(results[2]["status"], "Created");
}

#[tokio::test]
async fn update_many_batch_fails_only_the_duplicate_item() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let created = ids(&create_many(&api, named("U", 3)).await);
    let batch = json!({"organizations": [
        {"id": created[0], "name": "Same"},
        {"id": created[1], "name": "Same"},
        {"id": created[2], "notes": "kept"},
    ]});
    let a = api.put("/api/v2/organizations/update_many.json", batch).await;
    assert_eq!(a.status, 200);
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(
        job["results"],
        json!([
            {"action": "update", "id": created[0], "status": "Updated", "success": true},
            {"index": 1, "error": "OrganizationUpdateFailed", "id": created[1],
             "details": "Name:  Same has already been taken"},
            {"action": "update", "id": created[2], "status": "Updated", "success": true},
        ])
    );
    let third = api.get(&format!("/api/v2/organizations/{}", created[2])).await;
    assert_eq!(third.body["organization"]["notes"], "kept");
    let second = api.get(&format!("/api/v2/organizations/{}", created[1])).await;
    assert_eq!(second.body["organization"]["name"], "U 001");
}

#[tokio::test]
async fn update_many_bulk_applies_one_change_to_every_id_or_external_id() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let orgs =
        vec![json!({"name": "A", "external_id": "ea"}), json!({"name": "B", "external_id": "eb"})];
    let created = ids(&create_many(&api, orgs).await);
    let list = format!("{},{}", created[0], created[1]);
    let a = api
        .put(
            &format!("/api/v2/organizations/update_many?ids={list}"),
            json!({"organization": {"notes": "bulk"}}),
        )
        .await;
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(job["total"], 2);
    assert!(job["results"].as_array().unwrap().iter().all(|r| r["status"] == "Updated"));
    let a = api
        .put(
            "/api/v2/organizations/update_many?external_ids=EA,nope",
            json!({"organization": {"details": "d"}}),
        )
        .await;
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(job["results"][0]["id"], created[0]);
    assert_eq!(job["results"][1]["error"], "RecordNotFound");
    let shown = api.get(&format!("/api/v2/organizations/show_many?ids={list}")).await;
    let orgs = shown.body["organizations"].as_array().unwrap();
    assert!(orgs.iter().all(|o| o["notes"] == "bulk"));
    assert_eq!(orgs[0]["details"], "d");
    assert_eq!(orgs[1]["details"], Value::Null);
}

#[tokio::test]
async fn destroy_many_deletes_by_id_and_external_id() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let orgs =
        vec![json!({"name": "A"}), json!({"name": "B"}), json!({"name": "C", "external_id": "c"})];
    let created = ids(&create_many(&api, orgs).await);
    let a = api
        .delete(&format!(
            "/api/v2/organizations/destroy_many.json?ids={},{}",
            created[0], created[1]
        ))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["job_status"]["total"], 2);
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(
        job["results"][0],
        json!({"action": "delete", "id": created[0], "status": "Deleted", "success": true})
    );
    assert_eq!(api.get(&format!("/api/v2/organizations/{}", created[1])).await.status, 404);
    let a = api.delete("/api/v2/organizations/destroy_many?external_ids=C").await;
    let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(job["results"][0]["status"], "Deleted");
    assert_eq!(api.get("/api/v2/organizations/count").await.body["count"]["value"], 0);
    assert_eq!(api.delete("/api/v2/organizations/destroy_many").await.status, 400);
}

#[tokio::test]
async fn show_many_and_search_find_records_case_insensitively() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let zeta = create(&api, json!({"name": "Zeta", "external_id": "Z-1"})).await;
    let alpha = create(&api, json!({"name": "alpha", "external_id": "A-1"})).await;
    let list = format!("{},{},999", zeta["id"], alpha["id"]);
    let a = api.get(&format!("/api/v2/organizations/show_many.json?ids={list}")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["count"], 2);
    assert_eq!(a.body["next_page"], Value::Null);
    assert_eq!(a.body["previous_page"], Value::Null);
    let names: Vec<&str> = a.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "Zeta"], "sorted by name");
    let a = api.get("/api/v2/organizations/show_many?external_ids=z-1,missing").await;
    assert_eq!(a.body["organizations"][0]["id"], zeta["id"]);
    assert_eq!(a.body["count"], 1);

    let s = api.get("/api/v2/organizations/search.json?external_id=a-1").await;
    assert_eq!(s.body["organizations"][0]["id"], alpha["id"]);
    assert_eq!(s.body["count"], 1);
    let s = api.get("/api/v2/organizations/search?name=ZETA").await;
    assert_eq!(s.body["organizations"][0]["id"], zeta["id"]);
    let s = api.get("/api/v2/organizations/search?name=Zet").await;
    assert_eq!(
        s.body,
        json!({"organizations": [], "next_page": null, "previous_page": null, "count": 0})
    );
}

#[tokio::test]
async fn lists_page_by_offset_and_by_cursor() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut all = ids(&create_many(&api, named("P", 100)).await);
    all.extend(ids(&create_many(&api, named("Q", 50)).await));
    all.sort_unstable();

    let first = api.get("/api/v2/organizations.json").await;
    assert_eq!(first.body["count"], 150);
    assert_eq!(first.body["organizations"].as_array().unwrap().len(), 100);
    assert_eq!(first.body["next_page"], format!("{}/api/v2/organizations.json?page=2", sb.url));
    let second = api.get("/api/v2/organizations.json?page=2").await;
    assert_eq!(second.body["organizations"].as_array().unwrap().len(), 50);
    let deep = api.get("/api/v2/organizations.json?page=101").await;
    assert_eq!(deep.status, 400);
    assert_eq!(deep.body["errors"][0]["code"], "InvalidPaginationDepth");

    let mut walked = Vec::new();
    let mut path = "/api/v2/organizations.json?page%5Bsize%5D=40".to_string();
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for org in page.body["organizations"].as_array().unwrap() {
            walked.push(org["id"].as_u64().unwrap());
        }
        if page.body["meta"]["has_more"] != true {
            break;
        }
        let next = page.body["links"]["next"].as_str().unwrap();
        path = next.strip_prefix(&sb.url).unwrap().to_string();
    }
    assert_eq!(walked, all);
}
