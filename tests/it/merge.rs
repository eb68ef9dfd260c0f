//! `zdbulk merge organizations` through the real binary against the sandbox (issue 12): 500
//! pairs with chains, a cycle, a missing organization and a self-pair; the dry run's plan and
//! `--keep-fields`; the confirmation; `--suggest`. The kill-and-resume proof is in
//! `merge_resume.rs`.

use std::path::Path;

use serde_json::{json, Value};
use zdbulk_sandbox::{SandboxConfig, SAMPLE_SEED};

use crate::common::TestSandbox;
use crate::import::{count, read_csv, stats, writes};
use crate::resume::{finish, Creds};

/// The id the sandbox gives the `i`-th record of a seed without field definitions.
pub(crate) fn id(i: usize) -> u64 {
    6_100_000_000_001 + i as u64
}

/// A sandbox seeded with `seed`: quick merges, a budget that never binds.
pub(crate) fn sandbox(seed: Value, delay_ms: u64) -> TestSandbox {
    TestSandbox::start(SandboxConfig {
        seed_json: Some(seed.to_string()),
        job_delay_ms: delay_ms,
        job_item_ms: 2,
        rate_limit: 100_000,
        ..SandboxConfig::default()
    })
}

/// `zdbulk merge organizations ARGS… --url URL --quiet`, with the sandbox's API token.
pub(crate) fn merge_args(url: &str, more: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["merge", "organizations"].iter().map(|s| s.to_string()).collect();
    a.extend(more.iter().map(|s| s.to_string()));
    a.extend(["--url".to_string(), url.to_string(), "--quiet".to_string()]);
    a
}

/// The organization `id`, or `None` when it is gone.
pub(crate) async fn org(sb: &TestSandbox, id: u64) -> Option<Value> {
    let a = sb.api().get(&format!("/api/v2/organizations/{id}.json")).await;
    (a.status == 200).then(|| a.body["organization"].clone())
}

/// The user ids of an organization's members.
async fn members(sb: &TestSandbox, id: u64) -> Vec<u64> {
    let a =
        sb.api().get(&format!("/api/v2/organizations/{id}/organization_memberships.json")).await;
    let list = a.body["organization_memberships"].as_array().cloned().unwrap_or_default();
    list.iter().filter_map(|m| m["user_id"].as_u64()).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// 738 organizations: L0–L479 (a user and a domain each), W0–W239, X0–X9, C1, C2, M0–M5; W0–W9
/// have a user each.
fn big_seed() -> Value {
    let mut orgs = Vec::new();
    let mut users = Vec::new();
    for i in 0..480 {
        orgs.push(json!({"name": format!("L{i}"), "external_id": format!("l-{i}"), "domain_names": [format!("l{i}.example")]}));
        users.push(json!({"name": format!("UL{i}"), "email": format!("ul{i}@x.test"), "organization_id": id(i)}));
    }
    for i in 0..240 {
        orgs.push(json!({"name": format!("W{i}"), "external_id": format!("w-{i}"), "domain_names": [format!("w{i}.example")]}));
        if i < 10 {
            users.push(json!({"name": format!("UW{i}"), "email": format!("uw{i}@x.test"), "organization_id": id(480 + i)}));
        }
    }
    for k in 0..10 {
        orgs.push(json!({"name": format!("X{k}"), "external_id": format!("x-{k}")}));
    }
    orgs.push(json!({"name": "C1", "external_id": "c-1"}));
    orgs.push(json!({"name": "C2", "external_id": "c-2"}));
    for j in 0..6 {
        orgs.push(json!({"name": format!("M{j}"), "external_id": format!("m-{j}")}));
    }
    json!({"organizations": orgs, "users": users})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_pairs_with_chains_a_cycle_a_missing_side_and_a_self_pair_are_all_accounted_for(
) {
    let sb = sandbox(big_seed(), 50);
    assert_eq!(org(&sb, id(480)).await.unwrap()["name"], "W0", "seed ids as expected");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pairs.csv");
    // Sides named every way: loser by id or by plain name, winner by external id or name.
    let mut text = String::from("loser_id,loser,winner_external_id,winner\n");
    let mut row = |loser: String, lid: Option<u64>, winner: String, wext: Option<String>| {
        let l = lid.map_or(format!(",{loser}"), |i| format!("{i},"));
        let w = wext.map_or(format!(",{winner}"), |e| format!("{e},"));
        text.push_str(&format!("{l},{w}\n"));
    };
    for i in 0..480 {
        let lid = (i % 3 == 0).then(|| id(i));
        let wext = (i % 2 == 0).then(|| format!("w-{}", i / 2));
        row(format!("L{i}"), lid, format!("W{}", i / 2), wext);
    }
    for k in 0..10 {
        row(format!("W{k}"), None, format!("X{k}"), None);
    }
    row("C1".into(), None, "C2".into(), None);
    row("C2".into(), None, "C1".into(), None);
    row("Nobody".into(), None, "W100".into(), None);
    row("W101".into(), None, "W101".into(), None);
    for j in 0..6 {
        row(format!("M{j}"), None, format!("W{}", 200 + j), None);
    }
    write(&file, &text);
    let run_dir = tmp.path().join("run");
    let args = merge_args(
        &sb.url,
        &[file.to_str().unwrap(), "--yes", "--run-dir", run_dir.to_str().unwrap()],
    );
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 1, "invalid pairs make exit 1: {out}");

    let report = read_csv(&run_dir.join("report.csv"));
    assert_eq!(report.len(), 500, "every pair has one line");
    let rows: Vec<usize> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(rows, (2..502).collect::<Vec<_>>(), "in file order, each once");
    assert_eq!(count(&report, "deleted"), 496, "{out}");
    assert_eq!(count(&report, "invalid"), 4);
    let msg = |r: usize| report[r - 2][7].clone();
    assert!(msg(2).contains("chain resolved"), "L0 -> W0 -> X0: {}", msg(2));
    assert!(msg(492).contains("cycle") && msg(493).contains("cycle"), "{}", msg(492));
    assert!(msg(494).contains("matches no organization"), "{}", msg(494));
    assert!(msg(495).contains("same organization"), "{}", msg(495));
    let failed = read_csv(&run_dir.join("failed.csv"));
    assert_eq!(failed.len(), 4, "the invalid pairs, ready to fix and run again");

    // The account: no loser, winners with every loser's users and domain names.
    let count_now = sb.api().get("/api/v2/organizations/count.json").await;
    assert_eq!(count_now.body["count"]["value"], 738 - 496);
    for i in (0..480).step_by(7) {
        assert!(org(&sb, id(i)).await.is_none(), "L{i} is gone");
    }
    for k in 0..10 {
        assert!(org(&sb, id(480 + k)).await.is_none(), "W{k} merged into X{k}");
        let x = org(&sb, id(720 + k)).await.unwrap();
        let domains = x["domain_names"].to_string();
        for d in [
            format!("l{}.example", 2 * k),
            format!("l{}.example", 2 * k + 1),
            format!("w{k}.example"),
        ] {
            assert!(domains.contains(&d), "X{k} has {d}: {domains}");
        }
        assert_eq!(members(&sb, id(720 + k)).await.len(), 3, "X{k} has its three users");
    }
    for m in (10..240).step_by(11) {
        let w = org(&sb, id(480 + m)).await.unwrap();
        assert!(w["domain_names"].to_string().contains(&format!("l{}.example", 2 * m)));
        let users = members(&sb, id(480 + m)).await;
        assert_eq!(users.len(), 2, "W{m} has L{}'s and L{}'s users", 2 * m, 2 * m + 1);
        let u = sb.api().get(&format!("/api/v2/users/{}.json", users[0])).await;
        assert_eq!(u.body["user"]["organization_id"], id(480 + m), "organization_id follows");
    }
    for j in 0..6 {
        assert!(org(&sb, id(732 + j)).await.is_none(), "M{j} is gone");
    }
    assert!(
        org(&sb, id(730)).await.is_some() && org(&sb, id(731)).await.is_some(),
        "a cycle merges nothing"
    );
    let s = stats(&sb).await;
    let merges: u64 = s["requests"]["POST /api/v2/organizations/{id}/merge"]
        .as_object()
        .map(|by| by.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert_eq!(merges, 496, "one merge request a pair");
}

/// Two organizations of the sample fields: what a merge would lose.
fn fields_seed() -> Value {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    seed["organizations"] = json!([
        {"name": "Lose Co", "notes": "call first", "tags": ["vip", "legacy"], "domain_names": ["lose.example"],
         "organization_fields": {"tier": "pro", "crm_owner": "Ann"}},
        {"name": "Win Co", "tags": ["vip"], "organization_fields": {"tier": "free"}},
    ]);
    seed
}

async fn search(sb: &TestSandbox, name: &str) -> Option<Value> {
    let a = sb
        .api()
        .get(&format!("/api/v2/organizations/search.json?name={}", name.replace(' ', "%20")))
        .await;
    a.body["organizations"].as_array().and_then(|l| l.first().cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing_and_names_lost_values_and_keep_fields_keeps_them() {
    let sb = sandbox(fields_seed(), 20);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pairs.csv");
    write(&file, "loser,winner\nLose Co,Win Co\n");
    let dry = tmp.path().join("dry");
    let args = merge_args(
        &sb.url,
        &[file.to_str().unwrap(), "--dry-run", "--run-dir", dry.to_str().unwrap()],
    );
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 0, "{out}");
    assert_eq!(writes(&stats(&sb).await), 0, "a dry run sends no write");
    let report = read_csv(&dry.join("report.csv"));
    assert_eq!(count(&report, "planned"), 1);
    assert!(report[0][7].contains("0 users and 1 domain names move"), "{}", report[0][7]);
    let changes: Vec<String> =
        read_csv(&dry.join("changes.csv")).iter().map(|l| l.join(",")).collect();
    for line in [
        "2,Lose Co -> Win Co,notes,call first,",
        "2,Lose Co -> Win Co,organization_fields.tier,pro,free",
        "2,Lose Co -> Win Co,organization_fields.crm_owner,Ann,",
        "2,Lose Co -> Win Co,tags,legacy,",
    ] {
        assert!(changes.contains(&line.to_string()), "{line} in {changes:?}");
    }

    // Without a terminal and without --yes: refused, nothing written.
    let args = merge_args(&sb.url, &[file.to_str().unwrap(), "--keep-fields"]);
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--yes") && out.contains("1 organization"), "{out}");
    assert_eq!(writes(&stats(&sb).await), 0);

    let run = tmp.path().join("run");
    let args = merge_args(
        &sb.url,
        &[file.to_str().unwrap(), "--keep-fields", "--yes", "--run-dir", run.to_str().unwrap()],
    );
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 0, "{out}");
    assert!(search(&sb, "Lose Co").await.is_none(), "the loser is gone");
    let win = search(&sb, "Win Co").await.unwrap();
    assert_eq!(win["organization_fields"]["crm_owner"], "Ann", "kept where the winner had none");
    assert_eq!(win["organization_fields"]["tier"], "free", "the winner's own value stays");
    assert_eq!(win["notes"], "call first");
    assert!(win["tags"].to_string().contains("legacy"), "{}", win["tags"]);
    assert_eq!(win["domain_names"], json!(["lose.example"]), "domain names move");
    let changes: Vec<String> =
        read_csv(&run.join("changes.csv")).iter().map(|l| l.join(",")).collect();
    assert!(
        changes.contains(&"2,Lose Co -> Win Co,organization_fields.crm_owner,Ann,Ann".to_string()),
        "{changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggest_finds_the_known_duplicates_and_no_false_pair() {
    let names = [
        "Acme Inc",
        "ACME, Ltd.",
        "acme",
        "Globex GmbH",
        "Globex",
        "Initech",
        "Initrode",
        "Acme Labs",
        "Umbrella",
        "Umbrella Health",
        "Hooli",
        "Vandelay Industries",
        "Vandelay Imports",
        "Massive Dynamic",
        "Soylent Corp",
    ];
    let orgs: Vec<Value> = names
        .iter()
        .map(|n| match *n {
            "Initech" | "Initrode" => json!({"name": n, "domain_names": ["initech.com"]}),
            "Hooli" => json!({"name": n, "domain_names": ["hooli.com"]}),
            "Massive Dynamic" => json!({"name": n, "domain_names": ["massive.com"]}),
            _ => json!({"name": n}),
        })
        .collect();
    // ACME, Ltd. has the most users: it stays.
    let users = json!([
        {"name": "A", "email": "a@x.test", "organization_id": id(1)},
        {"name": "B", "email": "b@x.test", "organization_id": id(1)},
        {"name": "C", "email": "c@x.test", "organization_id": id(0)},
    ]);
    let sb = sandbox(json!({"organizations": orgs, "users": users}), 20);
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("pairs.csv");
    let args = merge_args(&sb.url, &["--suggest", "-o", out_file.to_str().unwrap()]);
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 0, "{out}");
    assert_eq!(writes(&stats(&sb).await), 0, "suggesting merges nothing");
    let lines = read_csv(&out_file);
    let mut pairs: Vec<(String, String)> =
        lines.iter().map(|l| (l[1].clone(), l[3].clone())).collect();
    pairs.sort();
    let want = [
        ("Acme Inc", "ACME, Ltd."),
        ("Globex", "Globex GmbH"),
        ("Initrode", "Initech"),
        ("acme", "ACME, Ltd."),
    ];
    let want: Vec<(String, String)> =
        want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(pairs, want, "{lines:?}");
    assert!(lines.iter().all(|l| !l[4].is_empty()), "each pair says why");

    // The file is merge's input as it is (its reason column ignored).
    let dry = tmp.path().join("dry");
    let args = merge_args(
        &sb.url,
        &[out_file.to_str().unwrap(), "--dry-run", "--run-dir", dry.to_str().unwrap()],
    );
    let (code, out) = finish(tmp.path(), &args, Creds::Token);
    assert_eq!(code, 0, "{out}");
    assert_eq!(count(&read_csv(&dry.join("report.csv")), "planned"), 4);
}
