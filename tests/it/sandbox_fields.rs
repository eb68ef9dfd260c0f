//! The sandbox's organization_fields and user_fields over HTTP: every route of both
//! families, the recorded shapes (R1), and the write rules.

use serde_json::{json, Value};

use crate::common::{Api, TestSandbox};

/// Both families: (collection, singular envelope, reorder parameter).
const FAMILIES: [(&str, &str, &str); 2] = [
    ("organization_fields", "organization_field", "organization_field_ids"),
    ("user_fields", "user_field", "user_field_ids"),
];

/// The keys R1 shows on a text field, in order.
const TEXT_KEYS: [&str; 14] = [
    "url",
    "id",
    "type",
    "key",
    "title",
    "description",
    "raw_title",
    "raw_description",
    "position",
    "active",
    "system",
    "regexp_for_validation",
    "created_at",
    "updated_at",
];

async fn create(api: &Api, coll: &str, one: &str, field: Value) -> Value {
    let a = api.post(&format!("/api/v2/{coll}.json"), json!({ one: field })).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body[one].clone()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn details(a: &crate::common::Answer) -> &Value {
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["error"], "RecordInvalid");
    &a.body["details"]
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_recorded_shape() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, _) in FAMILIES {
        let body = json!({ one: {"description": "test", "key": "somethingsomethingsomething", "title": "i am test"} });
        let a = api.post(&format!("/api/v2/{coll}.json"), body).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        let field = &a.body[one];
        assert_eq!(keys(field), TEXT_KEYS.to_vec());
        let id = field["id"].as_u64().unwrap();
        let url = format!("{}/api/v2/{coll}/{id}.json", sb.url);
        assert_eq!(a.header("location"), url);
        assert_eq!(field["url"], url);
        assert_eq!(field["type"], "text");
        assert_eq!(field["raw_title"], "i am test");
        assert_eq!(field["raw_description"], "test");
        assert_eq!(field["active"], true);
        assert_eq!(field["system"], false);
        assert_eq!(field["regexp_for_validation"], Value::Null);
        // As recorded: 9999 in the create answer, 0 on the next read.
        assert_eq!(field["position"], 9999);
        let read = api.get(&format!("/api/v2/{coll}/{id}.json")).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body[one]["position"], 0);
        assert_eq!(read.body[one]["key"], "somethingsomethingsomething");
    }
}

#[tokio::test]
async fn every_type_is_created_and_read_back_with_its_extra_keys() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, _) in FAMILIES {
        let specs = [
            json!({"key": "f_text", "title": "Text"}),
            json!({"key": "f_textarea", "title": "Textarea", "type": "textarea"}),
            json!({"key": "f_checkbox", "title": "Checkbox", "type": "checkbox", "tag": "checkedbox"}),
            json!({"key": "f_date", "title": "Date", "type": "date"}),
            json!({"key": "f_integer", "title": "Integer", "type": "integer"}),
            json!({"key": "f_decimal", "title": "Decimal", "type": "decimal"}),
            json!({"key": "f_regexp", "title": "Regexp", "type": "regexp", "regexp_for_validation": "[a-z]"}),
            json!({"key": "f_dropdown", "title": "Dropdown", "type": "dropdown",
                   "custom_field_options": [{"name": "Apple", "value": "apple"}, {"name": "Pear", "value": "pear"}]}),
            json!({"key": "f_lookup", "title": "Lookup", "type": "lookup", "relationship_target_type": "zen:organization"}),
            json!({"key": "f_multiselect", "title": "Multi", "type": "multiselect",
                   "custom_field_options": [{"name": "A", "value": "a"}]}),
        ];
        for spec in specs {
            let created = create(&api, coll, one, spec.clone()).await;
            let read =
                api.get(&format!("/api/v2/{coll}/{}.json", spec["key"].as_str().unwrap())).await;
            assert_eq!(read.status, 200, "{:?}", read.body);
            let field = &read.body[one];
            assert_eq!(field["id"], created["id"]);
            assert_eq!(field["type"], spec.get("type").cloned().unwrap_or(json!("text")));
            let extra: Vec<&str> =
                keys(field).into_iter().filter(|k| !TEXT_KEYS.contains(k)).collect();
            match field["type"].as_str().unwrap() {
                "checkbox" => {
                    assert_eq!(extra, vec!["tag"]);
                    assert_eq!(field["tag"], "checkedbox");
                }
                "dropdown" | "multiselect" => {
                    assert_eq!(extra, vec!["custom_field_options"]);
                    let options = field["custom_field_options"].as_array().unwrap();
                    assert_eq!(options[0]["value"], spec["custom_field_options"][0]["value"]);
                    assert_eq!(options[0]["raw_name"], options[0]["name"]);
                    assert!(options[0]["id"].as_u64().is_some());
                    assert_eq!(options[0]["position"], 0);
                }
                "lookup" => {
                    assert_eq!(extra, vec!["relationship_target_type", "relationship_filter"]);
                    assert_eq!(field["relationship_target_type"], "zen:organization");
                }
                "date" => {
                    assert!(extra.is_empty());
                    // A real account's date fields carry this pattern (R3).
                    assert!(field["regexp_for_validation"]
                        .as_str()
                        .unwrap()
                        .starts_with(r"\A([0-9]{4})"));
                }
                "regexp" => assert_eq!(field["regexp_for_validation"], "[a-z]"),
                _ => assert!(extra.is_empty(), "{extra:?}"),
            }
        }
        let list = api.get(&format!("/api/v2/{coll}.json")).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["count"], 10);
        assert_eq!(list.body[coll].as_array().unwrap().len(), 10);
    }
}

#[tokio::test]
async fn update_changes_title_and_replaces_options_whole() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, _) in FAMILIES {
        let field = create(&api, coll, one, json!({"key": "tier", "title": "Tier", "type": "dropdown",
            "custom_field_options": [{"name": "Free", "value": "free"}, {"name": "Pro", "value": "pro"},
                                     {"name": "Enterprise", "value": "enterprise"}]}))
        .await;
        let id = field["id"].as_u64().unwrap();
        let pro_id = field["custom_field_options"][1]["id"].clone();
        // Keep "pro" by id (renamed), drop "free" and "enterprise", add "gold" with a null id.
        let body = json!({ one: {"id": id, "key": "tier", "title": "Plan",
            "custom_field_options": [{"id": null, "name": "Gold", "value": "gold"},
                                     {"id": pro_id, "name": "Professional", "value": "pro"}]} });
        let a = api.put(&format!("/api/v2/{coll}/{id}.json"), body).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let updated = &a.body[one];
        assert_eq!(updated["title"], "Plan");
        assert_eq!(updated["raw_title"], "Plan");
        assert_eq!(updated["position"], 0);
        let options = updated["custom_field_options"].as_array().unwrap();
        let values: Vec<&str> = options.iter().map(|o| o["value"].as_str().unwrap()).collect();
        assert_eq!(values, vec!["gold", "pro"]);
        assert_eq!(options[1]["id"], pro_id, "an option sent with its id keeps it");
        assert_eq!(options[1]["name"], "Professional");
        assert!(options[0]["id"].as_u64().is_some_and(|i| i != pro_id.as_u64().unwrap()));
        // Read back through the key: the same.
        let read = api.get(&format!("/api/v2/{coll}/tier.json")).await;
        assert_eq!(read.body[one]["custom_field_options"], updated["custom_field_options"]);
    }
}

#[tokio::test]
async fn delete_answers_204_and_unknown_ids_and_keys_are_404() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, _) in FAMILIES {
        let by_id = create(&api, coll, one, json!({"key": "one", "title": "One"})).await;
        create(&api, coll, one, json!({"key": "two", "title": "Two"})).await;
        let a = api.delete(&format!("/api/v2/{coll}/{}.json", by_id["id"])).await;
        assert_eq!(a.status, 204);
        let a = api.delete(&format!("/api/v2/{coll}/two")).await;
        assert_eq!(a.status, 204, "delete by key");
        for path in ["9223372036854775807", "one", "no_such_key"] {
            for a in [
                api.get(&format!("/api/v2/{coll}/{path}.json")).await,
                api.delete(&format!("/api/v2/{coll}/{path}.json")).await,
                api.put(&format!("/api/v2/{coll}/{path}.json"), json!({ one: {"title": "x"} }))
                    .await,
            ] {
                assert_eq!(a.status, 404, "{path}: {:?}", a.body);
                assert_eq!(a.body, json!({"error": "RecordNotFound", "description": "Not found"}));
            }
        }
        let list = api.get(&format!("/api/v2/{coll}.json")).await;
        assert_eq!(list.body["count"], 0);
        // A deleted key may be used again (R1 re-creates it after each teardown).
        create(&api, coll, one, json!({"key": "one", "title": "One again"})).await;
    }
}

#[tokio::test]
async fn reorder_sets_the_list_order() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, ids_param) in FAMILIES {
        let mut ids = Vec::new();
        for key in ["a_field", "b_field", "c_field"] {
            ids.push(
                create(&api, coll, one, json!({"key": key, "title": key})).await["id"].clone(),
            );
        }
        let order = json!([ids[2], ids[0], ids[1]]);
        let a = api.put(&format!("/api/v2/{coll}/reorder.json"), json!({ ids_param: order })).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let list = api.get(&format!("/api/v2/{coll}.json")).await;
        let got: Vec<&str> = list.body[coll]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap())
            .collect();
        assert_eq!(got, vec!["c_field", "a_field", "b_field"]);
        let positions: Vec<i64> = list.body[coll]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["position"].as_i64().unwrap())
            .collect();
        assert_eq!(positions, vec![0, 1, 2]);
        let a = api
            .put(&format!("/api/v2/{coll}/reorder.json"), json!({ ids_param: [ids[0], 42] }))
            .await;
        assert!(details(&a)[ids_param].is_array());
    }
}

#[tokio::test]
async fn list_paginates_by_cursor_in_display_order() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for i in 0..5 {
        create(
            &api,
            "user_fields",
            "user_field",
            json!({"key": format!("k{i}"), "title": "t", "position": 10 - i}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v2/user_fields.json?page[size]=2".to_string();
    loop {
        let a = api.get(&path).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        seen.extend(
            a.body["user_fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["key"].as_str().unwrap().to_string()),
        );
        if !a.body["meta"]["has_more"].as_bool().unwrap() {
            break;
        }
        path = format!(
            "/api/v2/user_fields.json?page[size]=2&page[after]={}",
            a.body["meta"]["after_cursor"].as_str().unwrap()
        );
    }
    assert_eq!(seen, vec!["k4", "k3", "k2", "k1", "k0"]);
}

#[tokio::test]
async fn key_rules_are_enforced() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for (coll, one, _) in FAMILIES {
        let post = |field: Value| {
            let api = api.clone();
            async move { api.post(&format!("/api/v2/{coll}.json"), json!({ one: field })).await }
        };
        for bad in [
            json!({"title": "No key"}),
            json!({"key": "has space", "title": "t"}),
            json!({"key": "12345", "title": "t"}),
            json!({"key": "dash-key", "title": "t"}),
        ] {
            let a = post(bad.clone()).await;
            assert!(
                details(&a)["key"][0]["description"].as_str().unwrap().starts_with("Key: "),
                "{bad}"
            );
        }
        create(&api, coll, one, json!({"key": "plan", "title": "Plan"})).await;
        let a = post(json!({"key": "plan", "title": "Again"})).await;
        assert_eq!(details(&a)["key"][0]["error"], "DuplicateValue");
        assert_eq!(details(&a)["key"][0]["description"], "Key: plan has already been taken");
        // Same key on update is fine (as R1 sends it); another key is refused, as is another type.
        let a = api
            .put(
                &format!("/api/v2/{coll}/plan.json"),
                json!({ one: {"key": "plan", "title": "P"} }),
            )
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let a =
            api.put(&format!("/api/v2/{coll}/plan.json"), json!({ one: {"key": "plan2"} })).await;
        assert!(details(&a)["key"].is_array());
        let a = api
            .put(&format!("/api/v2/{coll}/plan.json"), json!({ one: {"type": "integer"} }))
            .await;
        assert!(details(&a)["type"].is_array());
    }
}

#[tokio::test]
async fn type_title_regexp_and_option_rules_are_enforced() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    let post = |field: Value| {
        let api = api.clone();
        async move {
            api.post("/api/v2/organization_fields.json", json!({ "organization_field": field }))
                .await
        }
    };
    let a = post(json!({"key": "k", "title": "t", "type": "currency"})).await;
    assert!(details(&a)["type"].is_array());
    let a = post(json!({"key": "k", "title": "  "})).await;
    assert_eq!(details(&a)["title"][0]["error"], "BlankValue");
    let a = post(json!({"key": "k", "title": "t", "type": "regexp"})).await;
    assert!(details(&a)["regexp_for_validation"].is_array());
    let a =
        post(json!({"key": "k", "title": "t", "type": "regexp", "regexp_for_validation": "([a-z"}))
            .await;
    assert!(details(&a)["regexp_for_validation"].is_array());
    let a = post(json!({"key": "k", "title": "t", "type": "dropdown", "custom_field_options": []}))
        .await;
    assert!(details(&a)["custom_field_options"].is_array());
    let a = post(json!({"key": "k", "title": "t", "type": "multiselect",
        "custom_field_options": [{"name": "A", "value": "a"}, {"name": "B", "value": "a"}]}))
    .await;
    assert_eq!(details(&a)["custom_field_options"][0]["error"], "DuplicateValue");
    // A name-only option has no value: refused.
    let a = post(json!({"key": "k", "title": "t", "type": "dropdown", "custom_field_options": [{"name": "Only name"}]})).await;
    assert!(details(&a)["custom_field_options"][0]["description"]
        .as_str()
        .unwrap()
        .contains("has no value"));
    // Several problems come back together.
    let a = post(json!({"key": "1", "type": "regexp"})).await;
    let d = details(&a);
    assert!(d["key"].is_array() && d["title"].is_array() && d["regexp_for_validation"].is_array());
    // Nothing refused was created.
    let list = api.get("/api/v2/organization_fields.json").await;
    assert_eq!(list.body["count"], 0);
    // A Ruby-anchored pattern compiles.
    let ok = post(
        json!({"key": "k", "title": "t", "type": "regexp", "regexp_for_validation": r"\A[a-z]+\Z"}),
    )
    .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
}

#[tokio::test]
async fn user_fields_show_many_by_keys() {
    let sb = TestSandbox::fast();
    let api = sb.api();
    for key in ["alpha", "beta", "gamma"] {
        create(&api, "user_fields", "user_field", json!({"key": key, "title": key})).await;
    }
    let a = api.get("/api/v2/user_fields/show_many.json?keys=gamma,alpha,nope").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let got: Vec<&str> = a.body["user_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec!["alpha", "gamma"]);
}

#[tokio::test]
async fn a_body_without_its_envelope_is_refused() {
    let sb = TestSandbox::fast();
    let a = sb
        .api()
        .post("/api/v2/user_fields.json", json!({"organization_field": {"key": "k", "title": "t"}}))
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["error"], "ParameterMissing");
}
