//! `zdbulk export` through the real binary against a sandbox on 127.0.0.1:0 (issue 10): every
//! record exactly once in CSV and XLSX, an untouched export imports as all `unchanged` with no
//! write, the formula guard round trip, a killed export resumed, definitions, and the errors.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use calamine::{open_workbook_auto, Data, Reader as _};
use serde_json::{json, Value};
use zdbulk_sandbox::{SandboxConfig, SAMPLE_SEED};

use crate::common::{zdbulk, TestSandbox};
use crate::import::{count, read_csv, run, stats, writes};

/// A sandbox with the sample field definitions, `orgs` organizations and `users` people (a
/// third of them in two organizations), fast jobs and a budget no test reaches.
pub(crate) async fn seeded(orgs: usize, users: usize) -> TestSandbox {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    seed["organizations"] = (0..orgs).map(org).collect();
    seed["users"] = (0..users).map(user).collect();
    let sb = TestSandbox::start(SandboxConfig {
        seed_json: Some(seed.to_string()),
        job_delay_ms: 0,
        job_item_ms: 0,
        rate_limit: 1_000_000,
        ..SandboxConfig::default()
    });
    let org_ids = ids(&sb, "organizations").await;
    let user_ids = ids(&sb, "users").await;
    let memberships: Vec<Value> = user_ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .flat_map(|(i, u)| {
            let a = org_ids[i % org_ids.len()];
            let b = org_ids[(i + 7) % org_ids.len()];
            [
                json!({"user_id": u, "organization_id": a}),
                json!({"user_id": u, "organization_id": b}),
            ]
        })
        .collect();
    let api = sb.api();
    for chunk in memberships.chunks(100) {
        let a = api
            .post(
                "/api/v2/organization_memberships/create_many.json",
                json!({ "organization_memberships": chunk }),
            )
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let job = api.wait_job(a.body["job_status"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "completed", "{job}");
    }
    sb
}

/// Organization `i` of the seed: custom fields of every type; every tenth has no external id
/// (users then name it by its name).
fn org(i: usize) -> Value {
    let mut o = json!({
        "name": format!("Org {i:05}"),
        "domain_names": [format!("org{i}.example")],
        "tags": ["alpha", format!("t{}", i % 5)],
        "notes": if i % 4 == 0 { json!(format!("note {i}\nsecond line")) } else { Value::Null },
        "shared_tickets": i % 2 == 0,
        "organization_fields": {
            "tier": (["free", "pro", "enterprise"][i % 3]),
            "seats": i % 500,
            "arr": (i as f64) * 1.25,
            "renewal_date": format!("2027-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
            "partner": i % 4 == 0,
            "products": if i % 2 == 0 { json!(["support", "talk"]) } else { json!([]) },
            "account_code": format!("ABC-{:04}", i % 10_000),
        },
    });
    if i % 10 != 0 {
        o["external_id"] = json!(format!("ext-{i}"));
    }
    o
}

fn user(i: usize) -> Value {
    json!({
        "name": format!("Person {i:05}"),
        "email": format!("person{i}@example.test"),
        "external_id": format!("u-{i}"),
        "phone": format!("+1555{i:07}"),
        "verified": true,
        "tags": ["staff"],
        "user_fields": {
            "department": (["sales", "engineering", "finance"][i % 3]),
            "employee_number": 1000 + i,
            "start_date": "2023-04-05",
            "vip": i % 5 == 0,
        },
    })
}

/// Every id of `plural`, by cursor pages.
pub(crate) async fn ids(sb: &TestSandbox, plural: &str) -> Vec<u64> {
    let api = sb.api();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v2/{plural}.json?page[size]=100");
        if let Some(a) = &after {
            path.push_str(&format!("&page[after]={}", urlencode(a)));
        }
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        out.extend(page.body[plural].as_array().unwrap().iter().filter_map(|r| r["id"].as_u64()));
        if page.body["meta"]["has_more"] != json!(true) {
            return out;
        }
        after = page.body["meta"]["after_cursor"].as_str().map(str::to_string);
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `zdbulk export <args> --url URL --quiet` in `dir`.
pub(crate) fn export(sb: &TestSandbox, dir: &Path, args: &[&str]) -> Output {
    zdbulk()
        .current_dir(dir)
        .arg("export")
        .args(args)
        .args(["--url", &sb.url, "--quiet"])
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "sandbox-token")
        .env("ZDBULK_TEST_NO_RETRY_DELAY", "1")
        .output()
        .expect("zdbulk runs")
}

pub(crate) fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The header and rows of an exported XLSX, each cell as the import's reader gives it.
pub(crate) fn read_xlsx(path: &Path) -> (Vec<String>, Vec<Vec<Data>>) {
    let mut wb = open_workbook_auto(path).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let mut rows = range.rows().map(<[Data]>::to_vec);
    let header = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    (header, rows.collect())
}

/// The ids of an exported CSV (first column), asserting each appears once.
pub(crate) fn csv_ids(path: &Path) -> Vec<u64> {
    let rows = read_csv(path);
    let ids: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "every record once");
    ids
}

pub(crate) fn xlsx_ids(path: &Path) -> Vec<u64> {
    let (header, rows) = read_xlsx(path);
    assert_eq!(header[0], "id");
    let ids: Vec<u64> = rows
        .iter()
        .map(|r| match &r[0] {
            Data::String(s) => s.parse().unwrap(),
            other => panic!("ids are text cells, not {other:?}"),
        })
        .collect();
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "every record once");
    ids
}

pub(crate) fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Imports `file` and asserts every row comes back `unchanged` with no write sent.
pub(crate) async fn imports_unchanged(
    sb: &TestSandbox,
    dir: &Path,
    resource: &str,
    file: &Path,
    rows: usize,
) {
    let before = writes(&stats(sb).await);
    let (code, stderr, report) = run(sb, dir, &["import", resource, file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.len(), rows);
    let not: Vec<&Vec<String>> = report.iter().filter(|r| r[3] != "unchanged").take(3).collect();
    assert_eq!(count(&report, "unchanged"), rows, "first others: {not:?}");
    assert_eq!(writes(&stats(sb).await), before, "an untouched export sends no write");
}

pub(crate) fn work() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    (tmp, work)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_export_every_record_once_and_reimport_unchanged_csv_and_xlsx() {
    let sb = seeded(2_000, 0).await;
    let (_tmp, work) = work();
    let all = sorted(ids(&sb, "organizations").await);
    assert_eq!(all.len(), 2_000);

    let csv = work.join("orgs.csv");
    ok(&export(&sb, &work, &["organizations", "-o", csv.to_str().unwrap()]));
    assert_eq!(sorted(csv_ids(&csv)), all);
    let header = csv::Reader::from_path(&csv).unwrap().headers().unwrap().clone();
    let header: Vec<&str> = header.iter().collect();
    assert_eq!(&header[..4], &["id", "name", "external_id", "domain_names"]);
    assert!(header.contains(&"organization_fields.products"));
    assert!(!Path::new(&format!("{}.zdbulk-export.json", csv.display())).exists());
    imports_unchanged(&sb, &work, "organizations", &csv, 2_000).await;

    let xlsx = work.join("orgs.xlsx");
    ok(&export(&sb, &work, &["organizations", "-o", xlsx.to_str().unwrap()]));
    assert_eq!(sorted(xlsx_ids(&xlsx)), all);
    let (header, rows) = read_xlsx(&xlsx);
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    assert!(matches!(rows[0][col("organization_fields.seats")], Data::Float(_)));
    assert!(matches!(rows[0][col("shared_tickets")], Data::Bool(_)));
    assert!(matches!(rows[0][col("organization_fields.renewal_date")], Data::DateTime(_)));
    imports_unchanged(&sb, &work, "organizations", &xlsx, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_export_names_organizations_and_reimports_unchanged_csv_and_xlsx() {
    let sb = seeded(60, 300).await;
    let (_tmp, work) = work();
    let all = sorted(ids(&sb, "users").await);

    let csv = work.join("people.csv");
    ok(&export(&sb, &work, &["users", "-o", csv.to_str().unwrap()]));
    assert_eq!(sorted(csv_ids(&csv)), all);
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    // Person 0 is in organizations 0 (no external id: named by name) and 7.
    let p0 = rows.iter().find(|r| r[col("email")] == "person0@example.test").unwrap();
    let orgs = [p0[col("organization")].as_str(), p0[col("organizations")].as_str()];
    assert_eq!(orgs, ["Org 00000", "ext-7"], "default by name, the other by external id");
    assert_eq!(p0[col("phone")], "'+15550000000", "guarded; import removes the guard");
    imports_unchanged(&sb, &work, "users", &csv, all.len()).await;

    let xlsx = work.join("people.xlsx");
    ok(&export(&sb, &work, &["users", "-o", xlsx.to_str().unwrap()]));
    assert_eq!(sorted(xlsx_ids(&xlsx)), all);
    imports_unchanged(&sb, &work, "users", &xlsx, all.len()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formula_like_cells_export_guarded_and_import_back_byte_identical() {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    seed["organizations"] = json!([
        {"name": "Hyper", "external_id": "h-1", "notes": "=HYPERLINK(\"http://x\")"},
        {"name": "Minus", "external_id": "m-1", "notes": "-5"},
    ]);
    seed["users"] = json!([{"name": "Phone", "email": "phone@example.test",
        "phone": "+15551234567", "verified": true, "notes": "@mention"}]);
    let sb = TestSandbox::start(SandboxConfig {
        seed_json: Some(seed.to_string()),
        job_delay_ms: 0,
        job_item_ms: 0,
        ..SandboxConfig::default()
    });
    let (_tmp, work) = work();
    let orgs = work.join("orgs.csv");
    ok(&export(&sb, &work, &["organizations", "-o", orgs.to_str().unwrap(), "--excel"]));
    let raw = std::fs::read_to_string(&orgs).unwrap();
    assert!(raw.starts_with('\u{feff}') && raw.contains("\r\n"), "--excel: BOM and CRLF");
    assert!(raw.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{raw}");
    assert!(raw.contains(",'-5,"), "{raw}");
    imports_unchanged(&sb, &work, "organizations", &orgs, 2).await;

    let people = work.join("people.csv");
    ok(&export(&sb, &work, &["users", "-o", people.to_str().unwrap()]));
    let raw = std::fs::read_to_string(&people).unwrap();
    assert!(raw.contains(",'+15551234567,") && raw.contains(",'@mention,"), "{raw}");
    let n = read_csv(&people).len();
    imports_unchanged(&sb, &work, "users", &people, n).await;

    // XLSX holds them as plain text cells, never formulas.
    let xlsx = work.join("orgs.xlsx");
    ok(&export(&sb, &work, &["organizations", "-o", xlsx.to_str().unwrap()]));
    let (header, rows) = read_xlsx(&xlsx);
    let notes = header.iter().position(|h| h == "notes").unwrap();
    let cells: Vec<&Data> = rows.iter().map(|r| &r[notes]).collect();
    assert!(cells.contains(&&Data::String("=HYPERLINK(\"http://x\")".into())));
    imports_unchanged(&sb, &work, "organizations", &xlsx, 2).await;
}
