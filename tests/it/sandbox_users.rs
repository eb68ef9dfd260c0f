//! The sandbox's users through HTTP: single CRUD in the recorded shapes, the four bulk jobs
//! and their result items, show_many, search, validation answers, pagination, and the 403
//! of an account whose data imports are off.

use serde_json::{json, Value};

use zdbulk_sandbox::SandboxConfig;

use crate::common::{fast_config, Api, TestSandbox};

/// Creates one user through `POST /users` and returns its id.
async fn create_user(api: &Api, user: Value) -> u64 {
    let a = api.post("/api/v2/users.json", json!({ "user": user })).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["user"]["id"].as_u64().unwrap()
}

/// Submits a job (expects the recorded 200 + queued answer) and waits for its results.
async fn run_job(api: &Api, method: &str, path: &str, body: Option<Value>) -> Vec<Value> {
    let a = api.send(method, path, body.as_ref()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    // With no queue delay (TestSandbox::fast) the job may already be working.
    let status = a.body["job_status"]["status"].as_str().unwrap_or("");
    assert!(status == "queued" || status == "working", "{:?}", a.body);
    assert_eq!(a.body["job_status"]["results"], Value::Null);
    let id = a.body["job_status"]["id"].as_str().unwrap().to_string();
    let done = api.wait_job(&id).await;
    assert_eq!(done["status"], "completed", "{done:?}");
    done["results"].as_array().unwrap().clone()
}

fn ids_of(results: &[Value]) -> Vec<u64> {
    results.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

#[tokio::test]
async fn single_user_lifecycle_matches_the_recordings() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = api
        .post(
            "/api/v2/users.json",
            json!({"user": {"id": "", "name": "testUser", "email": "t@x.co", "external_id": "T1"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = a.body["user"]["id"].as_u64().unwrap();
    assert_eq!(a.header("location"), format!("{}/api/v2/users/{id}.json", sb.url));
    assert_eq!(a.body["user"]["email"], "t@x.co");
    assert_eq!(a.body["user"]["role"], "end-user");
    assert_eq!(a.body["user"]["user_fields"], json!({}));

    // A new email on update keeps the primary (R3); the secondary is taken from then on.
    let a = api
        .put(
            &format!("/api/v2/users/{id}.json"),
            json!({"user": {"id": id, "email": "second@x.co", "name": "Renamed"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["user"]["email"], "t@x.co");
    assert_eq!(a.body["user"]["name"], "Renamed");
    let taken =
        api.post("/api/v2/users", json!({"user": {"name": "Other", "email": "SECOND@x.co"}})).await;
    assert_eq!(taken.status, 422);

    assert_eq!(api.get("/api/v2/users/count.json").await.body["count"]["value"], 1);

    let a = api.delete(&format!("/api/v2/users/{id}.json")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["user"]["active"], false);
    assert_eq!(a.body["user"]["email"], Value::Null);
    assert_eq!(a.body["user"]["external_id"], Value::Null);

    // Still shown by id, but gone from the list and the count; its email is free again.
    let a = api.get(&format!("/api/v2/users/{id}")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["user"]["active"], false);
    assert_eq!(api.get("/api/v2/users.json").await.body["count"], 0);
    assert_eq!(api.get("/api/v2/users/count").await.body["count"]["value"], 0);
    create_user(&api, json!({"name": "Again", "email": "t@x.co", "external_id": "t1"})).await;

    let missing =
        api.put("/api/v2/users/9223372036854775807.json", json!({"user": {"name": "x"}})).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({"error": "RecordNotFound", "description": "Not found"}));
    assert_eq!(api.delete("/api/v2/users/9223372036854775807.json").await.status, 404);
}

#[tokio::test]
async fn validation_answers_are_422_record_invalid() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a =
        api.post("/api/v2/users.json", json!({"user": {"name": "A", "email": "badmail"}})).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body,
        json!({"error": "RecordInvalid", "description": "Record validation errors",
               "details": {"email": [{"description": "Email: badmail is not properly formatted"}]}})
    );

    create_user(&api, json!({"name": "A", "email": "a@x.co", "external_id": "Ext-1"})).await;
    let a = api.post("/api/v2/users.json", json!({"user": {"name": "B", "email": "a@x.co"}})).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body["details"],
        json!({"email": [{"description": "Email: a@x.co is already being used by another user"}]})
    );

    let a = api
        .post("/api/v2/users.json", json!({"user": {"name": "B", "external_id": "ext-1"}}))
        .await;
    assert_eq!(a.status, 422, "external_id is unique case-insensitively");
    assert_eq!(a.body["error"], "RecordInvalid");
    assert_eq!(a.body["details"]["external_id"][0]["error"], "DuplicateValue");

    let a = api.post("/api/v2/users.json", json!({"user": {"email": "new@x.co"}})).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["details"]["name"][0]["description"], "Name: cannot be blank");

    let a = api.post("/api/v2/users.json", json!({"user": {"name": "C", "role": "owner"}})).await;
    assert_eq!(a.status, 422);
    assert!(a.body["details"]["role"].is_array());

    let a = api
        .post("/api/v2/users.json", json!({"user": {"name": "C", "organization_id": 12345}}))
        .await;
    assert_eq!(a.status, 422, "an unknown organization is refused");
    assert!(a.body["details"]["organization_id"].is_array());

    // Nothing refused was stored.
    assert_eq!(api.get("/api/v2/users.json").await.body["count"], 1);
}

#[tokio::test]
async fn create_many_of_100_completes_in_request_order() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let users: Vec<Value> =
        (0..100).map(|i| json!({"id": "", "name": format!("user{i:03}")})).collect();
    let results =
        run_job(&api, "POST", "/api/v2/users/create_many.json", Some(json!({ "users": users })))
            .await;
    assert_eq!(results.len(), 100);
    for r in &results {
        assert_eq!(r.as_object().unwrap().len(), 2, "{r}");
        assert_eq!(r["status"], "Created");
    }
    // Result i is the user of item i.
    let ids = ids_of(&results);
    for (i, id) in ids.iter().enumerate().step_by(17) {
        let a = api.get(&format!("/api/v2/users/{id}.json")).await;
        assert_eq!(a.body["user"]["name"], format!("user{i:03}"));
    }
}

#[tokio::test]
async fn create_many_of_101_is_refused_with_the_recorded_body() {
    let sb = TestSandbox::fast();
    let users: Vec<Value> = (0..101).map(|_| json!({"id": "", "name": "testUser"})).collect();
    let a =
        sb.api().post("/api/v2/users/create_many.json", json!({ "users": users.clone() })).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"error": "TooManyValues", "description": "Maximum 100 users may be created per call"})
    );
    let a =
        sb.api().post("/api/v2/users/create_or_update_many.json", json!({ "users": users })).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"], "TooManyValues");
}

#[tokio::test]
async fn duplicates_within_one_batch_first_wins() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let body = json!({"users": [
        {"name": "One", "email": "same@x.co"},
        {"name": "Two", "email": "same@x.co"},
    ]});
    let results = run_job(&api, "POST", "/api/v2/users/create_many", Some(body)).await;
    assert_eq!(results[0]["status"], "Created");
    assert_eq!(
        results[1],
        json!({"index": 1, "id": 1, "error": "UserCreateFailed",
               "details": "Email: same@x.co is already being used by another user", "status": "Failed"})
    );
}

#[tokio::test]
async fn create_or_update_many_creates_updates_and_fails_only_the_bad_item() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let existing = create_user(&api, json!({"name": "Ann", "email": "ann@x.co"})).await;
    let by_ext = create_user(&api, json!({"name": "Bob", "external_id": "B-1"})).await;
    let body = json!({"users": [
        {"name": "Ann Updated", "email": "ANN@x.co"},
        {"name": "Carl", "email": "carl@x.co", "external_id": "c-1"},
        {"name": "Bad", "email": "error@example.com_"},
        {"name": "Bob Updated", "external_id": "b-1", "email": "bob@x.co"},
    ]});
    let results =
        run_job(&api, "POST", "/api/v2/users/create_or_update_many.json", Some(body)).await;
    assert_eq!(results.len(), 4);
    assert_eq!(results[0], json!({"id": existing, "status": "Updated", "email": "ann@x.co"}));
    assert_eq!(results[1]["status"], "Created");
    assert_eq!(results[1]["email"], "carl@x.co");
    assert_eq!(
        results[2],
        json!({"index": 2, "id": 2, "error": "UserUpdateError",
               "details": "Email: error@example.com_ is not properly formatted", "status": "Failed"})
    );
    // Matched by external_id (any case); the stored case becomes the request's.
    assert_eq!(results[3], json!({"id": by_ext, "status": "Updated", "email": "bob@x.co"}));

    let a = api.get(&format!("/api/v2/users/show_many.json?ids={existing},{by_ext}")).await;
    assert_eq!(a.body["users"][0]["name"], "Ann Updated");
    assert_eq!(a.body["users"][1]["name"], "Bob Updated");
    assert_eq!(a.body["users"][1]["external_id"], "b-1");
    assert_eq!(api.get("/api/v2/users").await.body["count"], 3);

    // An item whose external_id and email name two different users fails on its own.
    // The external_id is matched in any case; the item fails, naming the email in use, and
    // neither user changes.
    let body = json!({"users": [{"name": "X", "external_id": "C-1", "email": "ann@x.co"}]});
    let results = run_job(&api, "POST", "/api/v2/users/create_or_update_many", Some(body)).await;
    assert_eq!(
        results,
        vec![json!({"index": 0, "id": 0, "error": "UserUpdateError",
                    "details": "Email: ann@x.co is already being used by another user",
                    "status": "Failed"})]
    );
    let a = api.get(&format!("/api/v2/users/show_many.json?ids={existing}")).await;
    assert_eq!(
        (&a.body["users"][0]["name"], &a.body["users"][0]["external_id"]),
        (&json!("Ann Updated"), &Value::Null)
    );
    let a = api.get("/api/v2/users/show_many.json?external_ids=c-1").await;
    assert_eq!(
        (&a.body["users"][0]["name"], &a.body["users"][0]["email"]),
        (&json!("Carl"), &json!("carl@x.co"))
    );
    assert_eq!(api.get("/api/v2/users").await.body["count"], 3);
}

#[tokio::test]
async fn show_many_by_external_ids_ignores_case() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = create_user(&api, json!({"name": "A", "external_id": "Ext-A"})).await;
    let b = create_user(&api, json!({"name": "B", "external_id": "ext-b"})).await;
    let found = api.get("/api/v2/users/show_many.json?external_ids=EXT-B,ext-a,missing").await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["count"], 2);
    let users = found.body["users"].as_array().unwrap();
    let shown: Vec<(u64, &str)> = users
        .iter()
        .map(|u| (u["id"].as_u64().unwrap(), u["external_id"].as_str().unwrap()))
        .collect();
    // Sorted by id, each external_id as it was stored.
    assert_eq!(shown, vec![(a, "Ext-A"), (b, "ext-b")]);
}

#[tokio::test]
async fn bulk_user_writes_are_403_when_data_imports_are_off() {
    let sb = TestSandbox::start(SandboxConfig { bulk_imports: false, ..fast_config() });
    let api = sb.api();
    let forbidden = json!({
        "error": "Forbidden",
        "description": "Data imports are not enabled for this account",
        "message": "Data imports are not enabled for this account"
    });
    let users = json!({"users": [{"name": "A", "email": "a@x.co"}]});
    let too_many: Vec<Value> = (0..101).map(|i| json!({"name": format!("u{i}")})).collect();
    let writes = [
        ("POST", "/api/v2/users/create_many.json", Some(users.clone())),
        ("POST", "/api/v2/users/create_or_update_many", Some(users.clone())),
        // Refused before the body is looked at: 403, not the 400 for over 100 users.
        ("POST", "/api/v2/users/create_many", Some(json!({ "users": too_many }))),
        ("PUT", "/api/v2/users/update_many?ids=1", Some(json!({"user": {"name": "Z"}}))),
        ("DELETE", "/api/v2/users/destroy_many?ids=1", None),
        (
            "POST",
            "/api/v2/organization_memberships/create_many",
            Some(json!({"organization_memberships": [{"user_id": 1, "organization_id": 2}]})),
        ),
    ];
    for (method, path, body) in &writes {
        let a = api.send(method, path, body.as_ref()).await;
        assert_eq!((a.status, &a.body), (403, &forbidden), "{method} {path}");
    }
    assert_eq!(api.get("/api/v2/job_statuses").await.body["job_statuses"], json!([]));

    // Single-record writes and organization bulk writes still work.
    let id = create_user(&api, json!({"name": "One", "email": "one@x.co"})).await;
    let a = api
        .post(
            "/api/v2/users/create_or_update",
            json!({"user": {"name": "Two", "email": "one@x.co"}}),
        )
        .await;
    assert_eq!((a.status, &a.body["user"]["id"]), (200, &json!(id)));
    let orgs = json!({"organizations": [{"name": "Acme"}]});
    let results = run_job(&api, "POST", "/api/v2/organizations/create_many", Some(orgs)).await;
    assert_eq!(results[0]["status"], "Created", "{results:?}");
}

#[tokio::test]
async fn create_or_update_single_answers_201_then_200() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let a = api
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "N", "email": "n@x.co"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = a.body["user"]["id"].as_u64().unwrap();
    let a = api
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "N2", "email": "N@X.co"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["user"]["id"], id);
    assert_eq!(a.body["user"]["name"], "N2");
}

#[tokio::test]
async fn update_many_batch_and_bulk() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            create_user(&api, json!({"name": format!("u{i}"), "external_id": format!("x{i}")}))
                .await,
        );
    }
    let body = json!({"users": [
        {"id": ids[0], "name": "renamed0"},
        {"id": 9223372036854775807u64, "name": "nobody"},
        {"id": ids[2], "name": "renamed2", "email": "nope"},
    ]});
    let results = run_job(&api, "PUT", "/api/v2/users/update_many.json", Some(body)).await;
    assert_eq!(
        results[0],
        json!({"id": ids[0], "action": "update", "status": "Updated", "success": true})
    );
    assert_eq!(results[1]["error"], "RecordNotFound");
    assert_eq!(results[1]["index"], 1);
    assert_eq!(results[2]["error"], "UserUpdateError");
    assert_eq!(results[2]["details"], "Email: nope is not properly formatted");

    let path = format!("/api/v2/users/update_many.json?ids={}", join(&ids));
    let results = run_job(&api, "PUT", &path, Some(json!({"user": {"notes": "bulk"}}))).await;
    assert_eq!(ids_of(&results), ids);
    let results = run_job(
        &api,
        "PUT",
        "/api/v2/users/update_many.json?external_ids=X1,x2",
        Some(json!({"user": {"details": "by ext"}})),
    )
    .await;
    assert_eq!(ids_of(&results), ids[1..].to_vec());

    let a = api.get(&format!("/api/v2/users/show_many?ids={}", join(&ids))).await;
    let users = a.body["users"].as_array().unwrap();
    assert_eq!(users[0]["name"], "renamed0");
    assert_eq!(users[2]["name"], "u2", "a failed item changes nothing");
    assert!(users.iter().all(|u| u["notes"] == "bulk"));
    assert_eq!(users[0]["details"], Value::Null);
    assert_eq!(users[1]["details"], "by ext");
}

#[tokio::test]
async fn destroy_many_then_show_many() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create_user(&api, json!({"name": format!("u{i}"), "email": format!("u{i}@x.co"), "external_id": format!("e{i}")})).await);
    }
    let path = format!("/api/v2/users/destroy_many.json?ids={},{}", ids[0], ids[1]);
    let results = run_job(&api, "DELETE", &path, None).await;
    assert_eq!(
        results,
        vec![
            json!({"id": ids[0], "action": "delete", "status": "Deleted", "success": true}),
            json!({"id": ids[1], "action": "delete", "status": "Deleted", "success": true}),
        ]
    );
    // By external_id; a second delete of the same user is a per-item failure.
    let results =
        run_job(&api, "DELETE", "/api/v2/users/destroy_many?external_ids=E2,e0", None).await;
    assert_eq!(results[0]["status"], "Deleted");
    assert_eq!(results[1]["error"], "RecordNotFound");

    // show_many asked in reverse order answers sorted by id, with the recorded envelope.
    let rev: Vec<u64> = ids.iter().rev().copied().collect();
    let a = api.get(&format!("/api/v2/users/show_many.json?ids={}", join(&rev))).await;
    assert_eq!(a.body, json!({"users": [], "next_page": null, "previous_page": null, "count": 0}));
    let a = api
        .get(&format!("/api/v2/users/show_many.json?ids={}&include_deleted=true", join(&rev)))
        .await;
    assert_eq!(a.body["count"], 3);
    let shown: Vec<u64> =
        a.body["users"].as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect();
    assert_eq!(shown, ids);
    assert!(a.body["users"].as_array().unwrap().iter().all(|u| u["active"] == false));

    let too_many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let a = api.delete(&format!("/api/v2/users/destroy_many?ids={}", too_many.join(","))).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"], "TooManyValues");
}

#[tokio::test]
async fn search_by_external_id_and_email() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let id =
        create_user(&api, json!({"name": "Sam", "email": "sam@x.co", "external_id": "S-9"})).await;
    create_user(&api, json!({"name": "Other", "email": "other@x.co"})).await;
    let a = api.get("/api/v2/users/search.json?external_id=s-9").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["count"], 1);
    assert_eq!(a.body["users"][0]["id"], id);
    assert_eq!(a.body["next_page"], Value::Null);
    assert_eq!(a.body["previous_page"], Value::Null);
    let a = api.get("/api/v2/users/search.json?query=email:SAM@x.co").await;
    assert_eq!(a.body["count"], 1);
    assert_eq!(a.body["users"][0]["id"], id);
    let a = api.get("/api/v2/users/search.json?query=email:nobody@x.co").await;
    assert_eq!(a.body["users"], json!([]));
    assert_eq!(a.body["count"], 0);
}

#[tokio::test]
async fn pagination_cursor_walk_and_offset() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let mut created = Vec::new();
    for batch in 0..3 {
        let n = if batch < 2 { 100 } else { 50 };
        let users: Vec<Value> = (0..n).map(|i| json!({"name": format!("p{batch}-{i}")})).collect();
        let results = run_job(
            &api,
            "POST",
            "/api/v2/users/create_many.json",
            Some(json!({ "users": users })),
        )
        .await;
        created.extend(ids_of(&results));
    }
    // One deleted user must not appear anywhere.
    let gone = created.remove(7);
    assert_eq!(api.delete(&format!("/api/v2/users/{gone}")).await.status, 200);
    created.sort();

    let mut seen = Vec::new();
    let mut path = "/api/v2/users.json?page%5Bsize%5D=100".to_string();
    loop {
        let a = api.get(&path).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let page: Vec<u64> =
            a.body["users"].as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect();
        assert!(page.len() <= 100);
        seen.extend(page);
        if a.body["meta"]["has_more"] == false {
            // page[before] from the last page goes back to the 100 users before it.
            let prev = a.body["links"]["prev"].as_str().unwrap().strip_prefix(&sb.url).unwrap();
            let back = api.get(prev).await;
            let back: Vec<u64> = back.body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_u64().unwrap())
                .collect();
            assert_eq!(back, created[100..200].to_vec());
            break;
        }
        let next = a.body["links"]["next"].as_str().unwrap();
        path = next.strip_prefix(&sb.url).unwrap().to_string();
    }
    assert_eq!(seen, created, "the cursor walk shows every active user once, by id");

    let a = api.get("/api/v2/users.json?page=2&per_page=100").await;
    assert_eq!(a.body["count"], 249);
    let page: Vec<u64> =
        a.body["users"].as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect();
    assert_eq!(page, created[100..200].to_vec());
    assert_eq!(a.body["next_page"], format!("{}/api/v2/users.json?page=3&per_page=100", sb.url));
    assert_eq!(
        a.body["previous_page"],
        format!("{}/api/v2/users.json?page=1&per_page=100", sb.url)
    );
    let a = api.get("/api/v2/users.json?page=3&per_page=100").await;
    assert_eq!(a.body["users"].as_array().unwrap().len(), 49);
    assert_eq!(a.body["next_page"], Value::Null);
}
