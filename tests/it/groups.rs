//! Groups by name (issue 13): a legacy organizations file's `group` column naming a group is
//! resolved to the group's id through `groups.json`, listed once per run, 100 a request; the
//! sandbox's groups endpoints themselves.

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use crate::common::TestSandbox;
use crate::import::{count, fast, read_csv, run, stats, writes};

/// A sandbox with `Support`, `Billing` and 150 more groups (two list pages).
fn with_groups() -> TestSandbox {
    let mut groups = vec![json!({"name": "Support"}), json!({"name": "Billing"})];
    groups.extend((0..150).map(|i| json!({"name": format!("Team {i:03}")})));
    let seed = json!({ "groups": groups }).to_string();
    TestSandbox::start(SandboxConfig { seed_json: Some(seed), ..fast() })
}

/// The account's groups, by name.
async fn group_ids(sb: &TestSandbox) -> std::collections::HashMap<String, u64> {
    let mut out = std::collections::HashMap::new();
    let mut path = "/api/v2/groups.json?page[size]=100".to_string();
    loop {
        let page = sb.api().get(&path).await.body;
        for g in page["groups"].as_array().unwrap() {
            out.insert(g["name"].as_str().unwrap().to_string(), g["id"].as_u64().unwrap());
        }
        if !page["meta"]["has_more"].as_bool().unwrap() {
            return out;
        }
        let after = page["meta"]["after_cursor"].as_str().unwrap();
        path = format!("/api/v2/groups.json?page[size]=100&page[after]={after}");
    }
}

/// `group_id` of the organization named `name`.
async fn group_of(sb: &TestSandbox, name: &str) -> Value {
    let found = sb.api().get(&format!("/api/v2/organizations/search.json?name={name}")).await;
    found.body["organizations"][0]["group_id"].clone()
}

fn group_lists(stats: &Value) -> u64 {
    stats["requests"]["GET /api/v2/groups"]["200"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_group_names_become_ids_listed_once_and_a_rerun_is_unchanged() {
    let sb = with_groups();
    let ids = group_ids(&sb).await;
    let before_lists = group_lists(&stats(&sb).await);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("legacy.csv");
    std::fs::write(
        &file,
        format!(
            "name,external_id,notes,shared,group,tags\n\
             Acme,a-1,,false,support,vip\n\
             Beta,b-1,,false, BILLING ,\n\
             Gamma,g-1,,false,team 140,\n\
             Delta,d-1,,false,{},\n\
             Epsilon,e-1,,false,Nope,\n\
             Zeta,z-1,,false,,\n",
            ids["Billing"]
        ),
    )
    .unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();

    let (code, stderr, report) =
        run(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(count(&report, "created"), 5, "{report:?}");
    let bad = &report[4];
    assert_eq!(bad[3], "invalid", "{report:?}");
    assert!(bad[7].starts_with("row 6, group (group_id): no group is named 'Nope'"), "{report:?}");
    assert!(bad[7].contains("'Support', 'Billing', 'Team 000'"), "{report:?}");
    assert!(bad[7].ends_with("and 142 more"), "{report:?}");
    assert_eq!(group_of(&sb, "Acme").await, json!(ids["Support"]));
    assert_eq!(group_of(&sb, "Beta").await, json!(ids["Billing"]));
    assert_eq!(group_of(&sb, "Gamma").await, json!(ids["Team 140"]));
    assert_eq!(group_of(&sb, "Delta").await, json!(ids["Billing"]));
    assert_eq!(group_of(&sb, "Zeta").await, Value::Null);
    let s = stats(&sb).await;
    assert_eq!(group_lists(&s) - before_lists, 2, "152 groups: two pages, not one per row");
    let writes_after_first = writes(&s);

    let (code, stderr, report) =
        run(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(count(&report, "unchanged"), 5, "{report:?}");
    assert_eq!(count(&report, "invalid"), 1, "{report:?}");
    let s = stats(&sb).await;
    assert_eq!(writes(&s), writes_after_first, "an unchanged re-run sends no write");
    assert_eq!(group_lists(&s) - before_lists, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_id_column_takes_ids_and_names_and_no_group_costs_no_listing() {
    let sb = with_groups();
    let ids = group_ids(&sb).await;
    let before_lists = group_lists(&stats(&sb).await);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(
        &file,
        format!(
            "name,domain_names,group_id\nOne,one.test,{}\nTwo,two.test,Support\n",
            ids["Billing"]
        ),
    )
    .unwrap();
    let plain = tmp.path().join("plain.csv");
    std::fs::write(&plain, "name,domain_names,group_id\nThree,three.test,\n").unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();

    let (code, stderr, report) =
        run(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr} {report:?}");
    assert_eq!(group_of(&sb, "One").await, json!(ids["Billing"]));
    assert_eq!(group_of(&sb, "Two").await, json!(ids["Support"]));
    assert_eq!(group_lists(&stats(&sb).await) - before_lists, 2);

    let (code, stderr, _) = run(&sb, &work, &["import", "organizations", plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(group_lists(&stats(&sb).await) - before_lists, 2, "no group named: no listing");
}

#[test]
fn validate_offline_accepts_a_group_name_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("fields.csv");
    std::fs::write(&defs, "key,title,type\nseats,Seats,integer\n").unwrap();
    let file = tmp.path().join("legacy.csv");
    std::fs::write(&file, "name,shared,group\nAcme,false,Support\nBeta,false,42\n").unwrap();
    let run_dir = tmp.path().join("run");
    let out = crate::common::zdbulk()
        .current_dir(tmp.path())
        .args(["validate", "organizations", file.to_str().unwrap(), "--fields"])
        .arg(&defs)
        .arg("--run-dir")
        .arg(&run_dir)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report[0][3], "valid");
    assert!(report[0][7].contains("group is named"), "{report:?}");
    assert_eq!(report[1][3], "valid");
    assert!(!report[1][7].contains("group"), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_groups_are_created_shown_and_listed_in_cursor_pages() {
    let sb = TestSandbox::start(fast());
    let api = sb.api();
    let mut made = Vec::new();
    for name in ["Support", "Billing", "Sales"] {
        let answer = api.post("/api/v2/groups.json", json!({"group": {"name": name}})).await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        assert_eq!(answer.body["group"]["name"], name);
        made.push(answer.body["group"]["id"].as_u64().unwrap());
    }
    let dup = api.post("/api/v2/groups.json", json!({"group": {"name": "sales"}})).await;
    assert_eq!(dup.status, 422);
    let none = api.post("/api/v2/groups.json", json!({"name": "x"})).await;
    assert_eq!(none.status, 400);
    let shown = api.get(&format!("/api/v2/groups/{}.json", made[1])).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["group"]["name"], "Billing");
    assert_eq!(api.get("/api/v2/groups/1.json").await.status, 404);

    let first = api.get("/api/v2/groups.json?page[size]=2").await.body;
    let names: Vec<&str> =
        first["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Support", "Billing"]);
    assert_eq!(first["meta"]["has_more"], true);
    assert!(first["links"]["next"].as_str().unwrap().contains("page%5Bafter%5D="));
    let after = first["meta"]["after_cursor"].as_str().unwrap();
    let second = api.get(&format!("/api/v2/groups.json?page[size]=2&page[after]={after}")).await;
    assert_eq!(second.body["groups"][0]["id"], json!(made[2]));
    assert_eq!(second.body["meta"]["has_more"], false);
}
