//! `zdbulk undo` through the real binary against a sandbox on 127.0.0.1:0 (issue 8, item 3):
//! what a run created is deleted, what it updated is written back, memberships it added are
//! removed, and an undo run again (after an interruption, or after it finished) never fails on
//! what is gone already.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use crate::common::TestSandbox;
use crate::import::{
    count, fast, get_through_faults, jobs_of, run, sandbox, stats, write_orgs, writes,
};

/// Runs zdbulk like `run` does, and returns the run directory it wrote too.
fn run_dir_of(
    sb: &TestSandbox,
    work: &Path,
    args: &[&str],
) -> (i32, String, Vec<Vec<String>>, PathBuf) {
    let n = std::fs::read_dir(work).map(|d| d.count()).unwrap_or(0);
    let (code, stderr, report) = run(sb, work, args);
    (code, stderr, report, work.join(format!("run-{n}")))
}

/// Every record of `what` (`organizations`, `users`), by id, without `updated_at`.
async fn snapshot(sb: &TestSandbox, what: &str) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    let mut path = format!("/api/v2/{what}.json?page%5Bsize%5D=100");
    loop {
        let page = get_through_faults(&sb.url, &path).await;
        for mut record in page[what].as_array().cloned().unwrap_or_default() {
            if let Some(o) = record.as_object_mut() {
                o.remove("updated_at");
            }
            out.insert(record["id"].as_u64().unwrap(), record);
        }
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == json!(true) => {
                path = next.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
            }
            _ => return out,
        }
    }
}

fn lines_with(report: &[Vec<String>], status: &str, message: &str) -> usize {
    report.iter().filter(|r| r[3] == status && r[7].contains(message)).count()
}

/// The "done when": 10,000 organizations created and 50 existing ones changed (custom
/// fields, tags, notes); undo with --restore-updates leaves the account as it was before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_with_restore_puts_the_account_back_as_it_was() {
    let sb = sandbox(SandboxConfig { time_scale: 60.0, ..fast() });
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let old = tmp.path().join("old.csv");
    let mut text = String::from("name,external_id,notes,tags,organization_fields.tier,organization_fields.seats,organization_fields.renewal_date,organization_fields.partner\n");
    for i in 0..50 {
        text.push_str(&format!("Org {i:05},ext-{i},old notes,legacy,pro,7,2026-01-01,false\n"));
    }
    std::fs::write(&old, text).unwrap();
    let (code, stderr, _) = run(&sb, &work, &["import", "organizations", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&sb, "organizations").await;
    assert_eq!(before.len(), 50);

    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 10_050, |i| if i < 50 { "new notes".into() } else { "n".into() });
    let (code, stderr, report, import_dir) =
        run_dir_of(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "created"), 10_000);
    assert_eq!(count(&report, "updated"), 50);
    assert_ne!(snapshot(&sb, "organizations").await.len(), 50);

    let dir = import_dir.to_str().unwrap();
    let (code, stderr, report) = run(&sb, &work, &["undo", dir, "--restore-updates"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.len(), 10_050, "one line per record touched");
    assert_eq!(count(&report, "deleted"), 10_000);
    assert_eq!(count(&report, "updated"), 50);
    let restored: Vec<&str> =
        report.iter().filter(|r| r[3] == "updated").map(|r| r[0].as_str()).collect();
    let expected: Vec<String> = (2..52).map(|n| n.to_string()).collect();
    assert_eq!(restored, expected, "rows are the input file's row numbers");
    let after = snapshot(&sb, "organizations").await;
    assert_eq!(after.len(), before.len());
    for (id, was) in &before {
        assert_eq!(after.get(id), Some(was), "organization {id} is as it was");
    }
}

/// A users run that created people and added existing people to organizations: the new people
/// are deleted, the memberships added to the others are removed, and the others are unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_of_users_deletes_new_people_and_removes_the_memberships_added_to_others() {
    let sb = sandbox(SandboxConfig { time_scale: 60.0, ..fast() });
    let api = sb.api();
    let tmp = tempfile::tempdir().unwrap();
    let mut orgs = Vec::new();
    for (name, ext) in [("Acme", "o-1"), ("Globex", "o-2"), ("Initech", "o-3")] {
        let a = api
            .post(
                "/api/v2/organizations.json",
                json!({"organization": {"name": name, "external_id": ext}}),
            )
            .await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        orgs.push(a.body["organization"]["id"].as_u64().unwrap());
    }
    let mut existing = Vec::new();
    for i in 0..5 {
        let user = json!({"user": {"name": format!("Old {i}"), "email": format!("old{i}@example.com"), "external_id": format!("old-{i}"), "organization_id": orgs[0], "verified": true}});
        let a = api.post("/api/v2/users.json", user).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        existing.push(a.body["user"]["id"].as_u64().unwrap());
    }
    let memberships_of = |id: u64| {
        let api = api.clone();
        async move {
            let a = api.get(&format!("/api/v2/users/{id}/organization_memberships.json")).await;
            let mut orgs: Vec<u64> = a.body["organization_memberships"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["organization_id"].as_u64().unwrap())
                .collect();
            orgs.sort();
            orgs
        }
    };
    let users_before = snapshot(&sb, "users").await;
    let mut text = String::from("name,email,external_id,verified,organization,organizations\n");
    for i in 0..5 {
        text.push_str(&format!("Old {i},old{i}@example.com,old-{i},true,o-1,Globex|Initech\n"));
    }
    for i in 0..20 {
        text.push_str(&format!("New {i},new{i}@example.com,new-{i},true,o-1,Globex\n"));
    }
    let file = tmp.path().join("people.csv");
    std::fs::write(&file, text).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let (code, stderr, report, import_dir) =
        run_dir_of(&sb, &work, &["import", "users", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "created"), 20, "{report:?}");
    assert_eq!(memberships_of(existing[0]).await, orgs, "the run added the old users to two");

    let (code, stderr, report) = run(&sb, &work, &["undo", import_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.len(), 30, "20 people and 10 memberships: {report:?}");
    assert_eq!(count(&report, "deleted"), 30, "{report:?}");
    let memberships = report.iter().filter(|r| r[1].contains("in organization")).count();
    assert_eq!(memberships, 10, "{report:?}");
    assert!(report
        .iter()
        .filter(|r| r[1].contains("in organization"))
        .all(|r| r[0].parse::<usize>().unwrap() <= 6));
    let users_after = snapshot(&sb, "users").await;
    let active: Vec<&Value> =
        users_after.values().filter(|u| u["active"] != json!(false)).collect();
    assert!(
        active.iter().all(|u| !u["email"].as_str().unwrap_or("").starts_with("new")),
        "new people are gone"
    );
    for id in &existing {
        assert_eq!(memberships_of(*id).await, vec![orgs[0]], "user {id} is in Acme only again");
        assert_eq!(users_after.get(id), users_before.get(id), "user {id} is unchanged");
    }
    let s = stats(&sb).await;
    assert_eq!(jobs_of(&s, "DELETE /api/v2/organization_memberships/destroy_many"), 1, "{s}");
    assert_eq!(jobs_of(&s, "DELETE /api/v2/users/destroy_many"), 1, "{s}");
}

/// A dry run looks things up and reports what it would do, and sends no write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_what_it_would_do_and_sends_nothing() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 30, |_| "a".into());
    let (code, _, _) = run(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    write_orgs(&file, 150, |i| if i < 30 { "b".into() } else { "a".into() });
    let (code, stderr, _, import_dir) =
        run_dir_of(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&sb, "organizations").await;
    let sent = writes(&stats(&sb).await);

    let dir = import_dir.to_str().unwrap();
    let (code, stderr, report, undo_dir) =
        run_dir_of(&sb, &work, &["undo", dir, "--dry-run", "--restore-updates"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(writes(&stats(&sb).await), sent, "no write was sent");
    assert_eq!(snapshot(&sb, "organizations").await, before);
    assert_eq!(report.len(), 150);
    assert_eq!(count(&report, "planned"), 150, "{report:?}");
    assert_eq!(report.iter().filter(|r| r[2] == "delete").count(), 120);
    assert!(report.iter().filter(|r| r[2] == "update").all(|r| r[7].contains("notes=\"a\"")));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(undo_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["dry_run"], true);
    assert!(undo_dir.join("journal.ndjson").exists());

    // Without --restore-updates, the updated records are listed with their values before.
    let (code, _, report) = run(&sb, &work, &["undo", dir, "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(lines_with(&report, "unchanged", "before it: "), 30, "{report:?}");
}

/// An undo interrupted while its jobs are in flight leaves a report; run again, it deletes
/// the rest and reports the others as already gone; a third run has nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_undo_finishes_when_run_again_and_a_third_has_nothing_left() {
    // Jobs queue for two seconds: the undo is busy when it is interrupted, and not for long.
    let sb = sandbox(SandboxConfig {
        job_delay_ms: 2_000,
        job_item_ms: 1,
        rate_limit: 20_000,
        ..SandboxConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 5_000, |_| "n".into());
    let (code, stderr, _, import_dir) =
        run_dir_of(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");

    let undo_dir = work.join("undo-1");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zdbulk"))
        .current_dir(&work)
        .arg("undo")
        .arg(&import_dir)
        .args(["--url", &sb.url, "--quiet", "--run-dir"])
        .arg(&undo_dir)
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "sandbox-token")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if stats(&sb).await["jobs_in_flight"].as_u64() >= Some(30) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("zdbulk undo"), "says how to finish: {stderr}");
    let first = crate::import::read_csv(&undo_dir.join("report.csv"));
    assert_eq!(first.len(), 5_000, "every record has a line");
    let deleted = count(&first, "deleted");
    assert!(
        (3_000..5_000).contains(&deleted),
        "the jobs in flight ended, the rest waited: {deleted}"
    );
    assert_eq!(deleted + count(&first, "skipped"), 5_000);

    let (code, stderr, second) = run(&sb, &work, &["undo", import_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&second, "deleted"), 5_000, "no failure: {:?}", &second[..3]);
    assert_eq!(lines_with(&second, "deleted", "already gone"), deleted);
    let total = sb.api().get("/api/v2/organizations/count.json").await;
    assert_eq!(total.body["count"]["value"], 0);
    let s = stats(&sb).await;
    assert_eq!(
        jobs_of(&s, "DELETE /api/v2/organizations/destroy_many"),
        50,
        "each id sent once: {s}"
    );

    let (code, stderr, third) = run(&sb, &work, &["undo", import_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing left to undo"), "{stderr}");
    assert_eq!(lines_with(&third, "deleted", "already gone"), 5_000);
    assert_eq!(jobs_of(&stats(&sb).await, "DELETE /api/v2/organizations/destroy_many"), 50);
}

/// Undo refuses what it cannot undo safely, naming the directory and the way out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_what_is_not_a_finished_import() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, stderr, _) = run(&sb, &work, &["undo", empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(empty.to_str().unwrap()) && stderr.contains("not an import run"),
        "{stderr}"
    );

    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 20, |_| "n".into());
    let (code, _, _, dry) =
        run_dir_of(&sb, &work, &["import", "organizations", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, 0);
    let (code, stderr, _) = run(&sb, &work, &["undo", dry.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("dry run"), "{stderr}");

    let (code, _, _, done) =
        run_dir_of(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    // A crash before the end: the journal has no finish line.
    let journal = done.join("journal.ndjson");
    let text = std::fs::read_to_string(&journal).unwrap();
    let cut: Vec<&str> = text.lines().filter(|l| !l.contains("\"type\":\"finish\"")).collect();
    assert_eq!(cut.len() + 1, text.lines().count());
    std::fs::write(&journal, cut.join("\n") + "\n").unwrap();
    let sent = writes(&stats(&sb).await);
    let (code, stderr, _) = run(&sb, &work, &["undo", done.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("zdbulk resume {}", done.display())), "{stderr}");
    assert_eq!(writes(&stats(&sb).await), sent, "nothing was sent");
    assert_eq!(sb.api().get("/api/v2/organizations/count.json").await.body["count"]["value"], 20);
}

/// What a delete-mode run deleted cannot be brought back: each record is listed, with why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_a_run_deleted_are_listed_as_not_restorable() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let file = tmp.path().join("orgs.csv");
    write_orgs(&file, 10, |_| "n".into());
    let (code, _, _) = run(&sb, &work, &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    let args = ["import", "organizations", file.to_str().unwrap(), "--mode", "delete"];
    let (code, stderr, report, deleted) = run_dir_of(&sb, &work, &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&report, "deleted"), 10);
    let sent = writes(&stats(&sb).await);
    let (code, stderr, report) = run(&sb, &work, &["undo", deleted.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.len(), 10);
    assert!(
        report.iter().all(|r| r[3] == "unchanged"
            && r[6] == "NotRestorable"
            && r[7].contains("deleted by the run")),
        "{report:?}"
    );
    assert_eq!(writes(&stats(&sb).await), sent, "nothing to send");
}

/// Without target flags, undo uses the account the import used: here `--sandbox`, whose state
/// lives in the directory the import was started from, not the one undo runs in.
#[test]
fn undo_defaults_to_the_journaled_target() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "name,external_id\nAcme,o-1\nGlobex,o-2\n").unwrap();
    let zdbulk = |cwd: &Path, args: &[&str]| {
        let out =
            crate::common::zdbulk().current_dir(cwd).args(args).arg("--quiet").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let run_dir = a.join("import");
    let (code, stderr) = zdbulk(
        &a,
        &[
            "import",
            "organizations",
            file.to_str().unwrap(),
            "--sandbox",
            "--run-dir",
            run_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let first = b.join("undo-1");
    let (code, stderr) =
        zdbulk(&b, &["undo", run_dir.to_str().unwrap(), "--run-dir", first.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let report = crate::import::read_csv(&first.join("report.csv"));
    assert_eq!(count(&report, "deleted"), 2, "{report:?}");
    assert_eq!(
        lines_with(&report, "deleted", "already gone"),
        0,
        "found in a's sandbox: {report:?}"
    );
    let second = b.join("undo-2");
    let (code, stderr) =
        zdbulk(&b, &["undo", run_dir.to_str().unwrap(), "--run-dir", second.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("nothing left to undo"), "{stderr}");
    assert!(!b.join(".zdbulk").exists(), "no sandbox state where undo ran");
}
