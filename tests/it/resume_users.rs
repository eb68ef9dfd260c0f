//! `zdbulk resume` of users with memberships, and of a run on OAuth client credentials whose
//! tokens expire early, killed with SIGKILL at seeded random points (issue 8).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::TestSandbox;
use crate::import::{count, stats};
use crate::resume::{
    all, assert_every_row_once, assert_orgs_as_file, assert_resume_again_changes_nothing, by_key,
    faulty, import_args, kill_and_resume, write_orgs, Creds,
};

/// A file of `n` people: a department, notes, an organization each, two more for every third.
fn write_people(path: &Path, n: usize) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record([
        "name",
        "email",
        "external_id",
        "notes",
        "user_fields.department",
        "organization",
        "organizations",
    ])
    .unwrap();
    for i in 0..n {
        let extra = if i % 3 == 0 {
            format!("o-{}|Org {}", (i + 1) % 10, (i + 2) % 10)
        } else {
            String::new()
        };
        w.write_record([
            format!("Person {i}"),
            format!("p{i}@example.com"),
            format!("u-{i}"),
            format!("note {i}"),
            ["sales", "engineering", "finance"][i % 3].into(),
            format!("o-{}", i % 10),
            extra,
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// Asserts the account holds the people of `write_people(_, n)`, each once, with their
/// values and exactly their memberships.
async fn assert_people_as_file(sb: &TestSandbox, n: usize) {
    let orgs: BTreeMap<u64, String> = all(sb, "organizations")
        .await
        .iter()
        .map(|o| (o["id"].as_u64().unwrap(), o["external_id"].as_str().unwrap().to_string()))
        .collect();
    let people: Vec<Value> = all(sb, "users")
        .await
        .into_iter()
        .filter(|u| u["email"].as_str().is_some_and(|e| e.starts_with('p')))
        .collect();
    let people = by_key(people, "email");
    assert_eq!(people.len(), n, "nobody created twice or missed");
    let mut linked: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let memberships = all(sb, "organization_memberships").await;
    for m in &memberships {
        let org = orgs[&m["organization_id"].as_u64().unwrap()].clone();
        let user = m["user_id"].as_u64().unwrap();
        assert!(linked.entry(user).or_default().insert(org), "a membership twice: {m}");
    }
    for i in 0..n {
        let u = &people[&format!("p{i}@example.com")];
        assert_eq!(u["name"], format!("Person {i}"), "{u}");
        assert_eq!(u["external_id"], format!("u-{i}"), "{u}");
        assert_eq!(u["notes"], format!("note {i}"), "{u}");
        assert_eq!(u["user_fields"]["department"], ["sales", "engineering", "finance"][i % 3]);
        let mut want: BTreeSet<String> = [format!("o-{}", i % 10)].into();
        if i % 3 == 0 {
            want.insert(format!("o-{}", (i + 1) % 10));
            want.insert(format!("o-{}", (i + 2) % 10));
        }
        let have = linked.remove(&u["id"].as_u64().unwrap()).unwrap_or_default();
        assert_eq!(have, want, "the memberships of {u}");
    }
    assert!(linked.is_empty(), "memberships of nobody in the file: {linked:?}");
}

/// Users with memberships killed at random points and resumed, under every fault.
async fn users_killed_and_resumed(seed: u64) {
    let sb = TestSandbox::start(faulty(seed));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("people.csv");
    let n = 600;
    write_people(&file, n);
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "4", "--welcome-email", "skip"];
    let import = import_args("users", &file, &sb.url, &run_dir, &more);
    let codes = kill_and_resume(tmp.path(), &import, &run_dir, Creds::Token, seed, 4);
    let report = assert_every_row_once(&run_dir, n);
    assert_eq!(count(&report, "created"), n, "{codes:?}");
    assert_people_as_file(&sb, n).await;
    assert_resume_again_changes_nothing(&sb, tmp.path(), &run_dir, Creds::Token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_users_with_memberships_seed_5() {
    users_killed_and_resumed(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_users_with_memberships_seed_6() {
    users_killed_and_resumed(6).await;
}

/// OAuth client credentials whose tokens the sandbox expires early (`token-expire`), on top
/// of the other faults: killed, resumed (each process mints its own token), every row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_with_expiring_tokens_killed_and_resumed() {
    let mut config = faulty(7);
    config.faults.token_expire = 0.02;
    let sb = TestSandbox::start(config);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let n = 500;
    write_orgs(&file, n, "oauth");
    let run_dir = tmp.path().join("run");
    let more = ["--batch-size", "25", "--max-jobs", "4"];
    let import = import_args("organizations", &file, &sb.url, &run_dir, &more);
    kill_and_resume(tmp.path(), &import, &run_dir, Creds::OAuth, 7, 3);
    let s = stats(&sb).await;
    assert!(s["faults"]["token-expire"].as_u64().unwrap_or(0) > 0, "tokens expired: {s}");
    assert!(s["requests"]["POST /oauth/tokens"]["201"].as_u64().unwrap_or(0) > 1, "{s}");
    let report = assert_every_row_once(&run_dir, n);
    assert_eq!(count(&report, "created"), n);
    assert_orgs_as_file(&sb, n, "oauth").await;
    assert_resume_again_changes_nothing(&sb, tmp.path(), &run_dir, Creds::OAuth).await;
}
