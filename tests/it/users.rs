//! `zdbulk import users` and `zdbulk validate users` through the real binary against a sandbox
//! on 127.0.0.1:0 (issue 7): organizations resolved, memberships as a second stream, keys that
//! are never names, welcome e-mails decided before any write.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};
use zdbulk_sandbox::{FaultSpec, SandboxConfig};

use crate::common::TestSandbox;
use crate::import::{
    count, fast, get_through_faults, read_csv, run, samples, sandbox, stats, writes,
};

fn row(report: &[Vec<String>], number: usize) -> &[String] {
    report.iter().find(|r| r[0] == number.to_string()).map(Vec::as_slice).unwrap_or_else(|| {
        panic!("row {number} is in the report");
    })
}

/// Every user of the account, walking all pages.
async fn all(sb: &TestSandbox, what: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v2/{what}.json?page%5Bsize%5D=100");
    loop {
        // Faults may be injected: a read is simply asked again.
        let page = get_through_faults(&sb.url, &path).await;
        out.extend(page[what].as_array().cloned().unwrap_or_default());
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == json!(true) => {
                path = next.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
            }
            _ => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_import_in_order_with_every_row_accounted_for_then_rerun_unchanged() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let orgs = samples().join("organizations.csv");
    let users = samples().join("users.csv");
    let (code, stderr, _) =
        run(&sb, tmp.path(), &["import", "organizations", orgs.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");

    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", users.to_str().unwrap()]);
    assert_eq!(code, 1, "planted mistakes fail their rows: {stderr}");
    assert_eq!(report.len(), 300, "every row once");
    let numbers: Vec<usize> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(numbers, (2..302).collect::<Vec<_>>(), "in input order");
    // The planted mistakes, each on its row with what is wrong named.
    for (n, code, says) in [
        (25, "UnknownOrganization", "CRM-100008"),
        (
            250,
            "UnknownOrganization",
            "organizations: no organization has the external_id or name 'Nakatomi Freight KK'",
        ),
        (285, "UnknownOrganization", "CRM-100294"),
        (14, "Invalid", "also on row 60"),
        (60, "Invalid", "also on row 14"),
        (19, "Invalid", "USR-10018"),
        (99, "Invalid", "USR-10018"),
        (133, "Invalid", "not an e-mail address"),
        (178, "Invalid", "'manager' is not one of"),
        (216, "Invalid", "name"),
    ] {
        let r = row(&report, n);
        assert_eq!((r[3].as_str(), r[6].as_str()), ("invalid", code), "row {n}: {r:?}");
        assert!(r[7].contains(says), "row {n} says {says}: {r:?}");
    }
    assert_eq!(count(&report, "invalid"), 10, "{report:?}");
    assert_eq!(count(&report, "created"), 290);
    let failed = read_csv(&tmp.path().join("run-1").join("failed.csv"));
    assert_eq!(failed.len(), 10, "the failed file holds exactly the refused rows");

    // Organizations are set: a person's default organization, and every membership once.
    let people = all(&sb, "users").await;
    let emma = people.iter().find(|u| u["external_id"] == "USR-10001").unwrap();
    let org = sb.api().get("/api/v2/organizations/search.json?external_id=CRM-101610").await.body;
    assert_eq!(emma["organization_id"], org["organizations"][0]["id"]);
    let memberships = all(&sb, "organization_memberships").await;
    let pairs: BTreeSet<(u64, u64)> = memberships
        .iter()
        .map(|m| (m["user_id"].as_u64().unwrap(), m["organization_id"].as_u64().unwrap()))
        .collect();
    assert_eq!(pairs.len(), memberships.len(), "no membership twice");
    let multi = report.iter().filter(|r| r[7].contains("added to organization")).count();
    assert!(multi >= 25, "people in several organizations joined them: {multi}");
    let before = stats(&sb).await;

    // Again: rows with an external id are looked up (100 a request) and left alone; rows
    // named only by e-mail cannot be looked up in bulk, so create_or_update_many gets them
    // again and changes nothing.
    let input = read_csv(&users);
    let by_email_only: BTreeSet<usize> = input
        .iter()
        .enumerate()
        .filter(|(_, r)| r[2].trim().is_empty())
        .map(|(i, _)| i + 2)
        .collect();
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", users.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    for r in report.iter().filter(|r| r[3] != "invalid") {
        let n: usize = r[0].parse().unwrap();
        let want = if by_email_only.contains(&n) { "updated" } else { "unchanged" };
        assert_eq!(r[3], want, "row {n}: {r:?}");
    }
    let after = stats(&sb).await;
    assert_eq!(
        writes(&after) - writes(&before),
        by_email_only.len().div_ceil(100) as u64,
        "only the rows a lookup cannot tell are sent: {after}"
    );
    assert_eq!(all(&sb, "organization_memberships").await.len(), memberships.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_email_and_external_id_are_two_people_is_a_conflict_naming_both() {
    let sb = sandbox(fast());
    let api = sb.api();
    let ada = api
        .post("/api/v2/users.json", json!({"user": {"name": "Ada", "email": "ada@example.com"}}))
        .await
        .body;
    let bob = api
        .post("/api/v2/users.json", json!({"user": {"name": "Bob", "external_id": "b-1"}}))
        .await
        .body;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    std::fs::write(&file, "name,email,external_id,verified\nAda B,ADA@example.com,B-1,true\n")
        .unwrap();
    let (code, stderr, report) = run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let r = &report[0];
    assert_eq!((r[3].as_str(), r[6].as_str()), ("failed", "IdentityConflict"), "{r:?}");
    for id in [&ada["user"]["id"], &bob["user"]["id"]] {
        assert!(r[7].contains(&id.to_string()), "names user {id}: {r:?}");
    }
    let bob_now = api.get(&format!("/api/v2/users/{}.json", bob["user"]["id"])).await.body;
    assert_eq!(bob_now["user"]["name"], "Bob", "nothing was guessed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_emails_are_decided_before_any_write() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    std::fs::write(&file, "name,email\nAda,ada@example.com\nBob,bob@example.com\nCy,\n").unwrap();
    let (code, stderr, report) = run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("2 row(s) (row 2, 3) have a name and an e-mail address"), "{stderr}");
    assert!(stderr.contains("up to 2 people would be mailed"), "{stderr}");
    assert!(stderr.contains("--welcome-email"), "{stderr}");
    assert!(report.is_empty());
    assert_eq!(writes(&stats(&sb).await), 0, "nothing was sent");

    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "planned"), 3);
    let dirs: BTreeMap<String, Value> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|d| {
            let p = d.ok()?.path().join("summary.json");
            let v: Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p.display().to_string(), v))
        })
        .collect();
    assert!(dirs.values().any(|s| s["welcome_emails"] == 2), "{dirs:?}");

    let (code, stderr, report) = run(
        &sb,
        tmp.path(),
        &["import", "users", file.to_str().unwrap(), "--welcome-email", "skip"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "created"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_against_the_account_agrees_with_import() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    // No name and an unknown external id: an upsert cannot create it.
    std::fs::write(&file, "name,external_id\nAcme,a-1\n,nobody-has-this\n").unwrap();
    let (code, stderr, checked) =
        run(&sb, tmp.path(), &["validate", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr, imported) =
        run(&sb, tmp.path(), &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let status = |r: &[Vec<String>]| r.iter().map(|l| l[3].clone()).collect::<Vec<_>>();
    assert_eq!(status(&checked), ["valid", "invalid"]);
    assert_eq!(status(&imported), ["created", "invalid"]);
    assert_eq!(checked[1][6], imported[1][6], "the same reason: {checked:?} {imported:?}");
}

/// 20,000 people, a third of them in two extra organizations, under a 30-job window, a rate
/// budget and injected faults: every row once, nobody created twice, every membership once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_users_with_memberships_survive_faults_without_duplicates() {
    let sb = sandbox(SandboxConfig {
        time_scale: 60.0,
        job_limit: 30,
        rate_limit: 2500,
        faults: FaultSpec {
            server_error: 0.02,
            drop: 0.02,
            job_fail: 0.03,
            ..FaultSpec::default()
        },
        fault_seed: 11,
        ..SandboxConfig::default()
    });
    let api = sb.api();
    let mut orgs = Vec::new();
    for i in 0..20 {
        let body = json!({"organizations": [{"name": format!("Org {i}"), "external_id": format!("o-{i}")}]});
        let job = loop {
            let a = api.post("/api/v2/organizations/create_many.json", body.clone()).await;
            if a.status == 200 {
                break a.body;
            }
        };
        orgs.push(job);
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    write_people(&file, 20_000);
    // Let the organizations' jobs finish.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (code, stderr, report) = run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap()]);
    assert_eq!(
        code,
        0,
        "{stderr}\n{:?}",
        report.iter().filter(|r| r[3] != "created").take(5).collect::<Vec<_>>()
    );
    assert_eq!(report.len(), 20_000);
    assert_eq!(count(&report, "created"), 20_000);
    let s = stats(&sb).await;
    assert!(s["faults"]["drop"].as_u64().unwrap_or(0) > 0, "faults were injected: {s}");
    let people = all(&sb, "users").await;
    let emails: BTreeSet<String> =
        people.iter().filter_map(|u| u["email"].as_str().map(str::to_lowercase)).collect();
    let imported =
        people.iter().filter(|u| u["email"].as_str().is_some_and(|e| e.starts_with('p'))).count();
    assert_eq!(imported, 20_000, "nobody was created twice");
    assert_eq!(emails.len(), people.iter().filter(|u| u["email"].is_string()).count());
    let memberships = all(&sb, "organization_memberships").await;
    let pairs: BTreeSet<(u64, u64)> = memberships
        .iter()
        .map(|m| (m["user_id"].as_u64().unwrap(), m["organization_id"].as_u64().unwrap()))
        .collect();
    assert_eq!(pairs.len(), memberships.len(), "no membership twice");
    assert_eq!(memberships.len(), 20_000 + 2 * 6_667, "every membership exactly once");
}

fn write_people(path: &Path, n: usize) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["name", "email", "external_id", "organization", "organizations", "verified"])
        .unwrap();
    for i in 0..n {
        let extra = if i % 3 == 0 {
            format!("o-{}|Org {}", (i + 1) % 20, (i + 2) % 20)
        } else {
            String::new()
        };
        w.write_record([
            format!("Person {i}"),
            format!("p{i}@example.com"),
            format!("u-{i}"),
            format!("o-{}", i % 20),
            extra,
            "true".into(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// An account whose bulk imports are switched off: the run stops before any row is lost, says
/// how to get them enabled, and `--one-at-a-time` imports the failed rows one request each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_imports_switched_off_stop_the_run_and_one_at_a_time_finishes_it() {
    let sb = sandbox(SandboxConfig { bulk_imports: false, time_scale: 60.0, ..fast() });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    let api = sb.api();
    for (name, ext) in [("Acme", "o-1"), ("Globex", "o-2")] {
        let org = json!({"organization": {"name": name, "external_id": ext}});
        assert_eq!(api.post("/api/v2/organizations.json", org).await.status, 201);
    }
    let mut text = String::from("name,email,external_id,verified,organization,organizations\n");
    for i in 0..5 {
        text.push_str(&format!("Person {i},p{i}@example.com,u-{i},true,o-1,Globex\n"));
    }
    std::fs::write(&file, text).unwrap();
    let (code, stderr, report) = run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stderr.contains("Zendesk support"), "says how to get them enabled: {stderr}");
    assert!(stderr.contains("--one-at-a-time"), "{stderr}");
    assert!(stderr.contains("5 rows take about 5 s"), "with an estimate: {stderr}");
    assert_eq!(report.len(), 5);
    assert_eq!(count(&report, "skipped"), 5, "{report:?}");
    let failed = tmp.path().join("run-1").join("failed.csv");
    assert_eq!(read_csv(&failed).len(), 5, "no row lost");

    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", failed.to_str().unwrap(), "--one-at-a-time"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "created"), 5, "{report:?}");
    let s = stats(&sb).await;
    assert_eq!(s["requests"]["POST /api/v2/users/create_or_update"]["201"], 5, "{s}");
    assert_eq!(s["requests"]["POST /api/v2/organization_memberships"]["201"], 5, "{s}");
    assert!(report.iter().all(|r| r[7].contains("'Globex'")), "{report:?}");
}

/// Update and delete find users by e-mail, external id or id — never by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_find_users_by_email_or_external_id() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    std::fs::write(
        &file,
        "name,email,external_id,notes\nAda,ada@example.com,u-1,a\nBob,bob@example.com,u-2,b\nCy,cy@example.com,,c\n",
    )
    .unwrap();
    let args = ["import", "users", file.to_str().unwrap(), "--welcome-email", "skip"];
    let (code, stderr, _) = run(&sb, tmp.path(), &args);
    assert_eq!(code, 0, "{stderr}");

    let edits = tmp.path().join("edits.csv");
    std::fs::write(
        &edits,
        "email,external_id,name,notes\nADA@example.com,,,edited\n,U-2,,edited\n,,Cy,edited\n,nobody,,x\n",
    )
    .unwrap();
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", edits.to_str().unwrap(), "--mode", "update"]);
    assert_eq!(code, 1, "{stderr}");
    let statuses: Vec<(&str, &str)> =
        report.iter().map(|r| (r[3].as_str(), r[6].as_str())).collect();
    assert_eq!(
        statuses,
        [("updated", ""), ("updated", ""), ("invalid", "Invalid"), ("failed", "RecordNotFound")],
        "{report:?}"
    );
    assert!(report[2][7].contains("names are not unique"), "{report:?}");

    let gone = tmp.path().join("gone.csv");
    std::fs::write(&gone, "external_id\nu-1\nu-2\n").unwrap();
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", gone.to_str().unwrap(), "--mode", "delete"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "deleted"), 2, "{report:?}");
    let left = all(&sb, "users").await;
    assert!(left.iter().any(|u| u["email"] == "cy@example.com"));
    assert!(!left.iter().any(|u| u["email"] == "ada@example.com"), "{left:?}");
}

/// Offline, a users file is checked against exported definitions, and what only the account
/// can tell is said on the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_offline_marks_what_it_cannot_know() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("fields.csv");
    std::fs::write(
        &defs,
        "key,title,type,options\nlevel,Level,dropdown,Gold=gold; Silver=silver\n",
    )
    .unwrap();
    let file = tmp.path().join("people.csv");
    std::fs::write(
        &file,
        "name,email,organization,user_fields.level\nAda,ada@example.com,acme,Gold\nBob,bob@example.com,,bronze\n",
    )
    .unwrap();
    let run_dir = tmp.path().join("run");
    let out = crate::common::zdbulk()
        .current_dir(tmp.path())
        .args(["validate", "users", file.to_str().unwrap(), "--fields", defs.to_str().unwrap()])
        .arg("--run-dir")
        .arg(&run_dir)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report[0][3], "valid");
    assert!(report[0][7].contains("organizations are not checked offline"), "{report:?}");
    assert_eq!(report[1][3], "invalid");
    assert!(report[1][7].contains("user_fields.level: 'bronze'"), "{report:?}");
}

/// Rows without a name can only update someone: validate and import both find out whether
/// that someone exists, and agree on every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_and_import_agree_on_users_without_a_name() {
    let sb = sandbox(fast());
    let api = sb.api();
    let ada = json!({"user": {"name": "Ada", "email": "ada@example.com", "external_id": "a-1"}});
    let ada = api.post("/api/v2/users.json", ada).await.body;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    std::fs::write(
        &file,
        "id,name,email,external_id,notes,verified\n\
         ,,ADA@example.com,,by e-mail,\n\
         ,,,A-1,by external id,\n\
         ,,bee@example.com,,nobody,\n\
         ,,,cee-1,nobody,\n\
         ID,,,,by id,\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("ID", &ada["user"]["id"].to_string())).unwrap();
    let (code, stderr, checked) =
        run(&sb, tmp.path(), &["validate", "users", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr, imported) =
        run(&sb, tmp.path(), &["import", "users", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let status = |r: &[Vec<String>]| r.iter().map(|l| l[3].clone()).collect::<Vec<_>>();
    assert_eq!(status(&checked), ["valid", "valid", "invalid", "invalid", "valid"], "{checked:?}");
    assert_eq!(
        status(&imported),
        ["updated", "updated", "invalid", "invalid", "updated"],
        "{imported:?}"
    );
    for i in [2, 3] {
        assert_eq!(checked[i][6], "NameRequired");
        assert_eq!(checked[i][7], imported[i][7]);
    }
}
