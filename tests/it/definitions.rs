//! Field definitions through the real binary (issue 9): the sample definitions import into an
//! empty sandbox and re-run unchanged; options are merged, never dropped unless
//! `--prune-options`; bad definitions are refused naming their row; the rehearsal fields →
//! organizations → users works from nothing.

use std::path::Path;

use serde_json::Value;
use zdbulk_sandbox::SAMPLE_SEED;

use crate::common::{fast_config, TestSandbox};
use crate::import::{count, read_csv, run, samples};

/// The definitions file of one family of the sandbox's sample seed, in the format `import`
/// reads: the samples are generated from the seed, not kept twice.
fn definitions_csv(family: &str) -> String {
    let seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let mut w =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
    w.write_record([
        "key",
        "title",
        "type",
        "description",
        "regexp_for_validation",
        "tag",
        "options",
    ])
    .unwrap();
    for f in seed[family].as_array().unwrap() {
        let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
        let options: Vec<String> = f["custom_field_options"]
            .as_array()
            .map(|o| {
                o.iter()
                    .map(|o| {
                        format!("{}={}", o["name"].as_str().unwrap(), o["value"].as_str().unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default();
        w.write_record([
            s("key"),
            s("title"),
            s("type"),
            s("description"),
            s("regexp_for_validation"),
            s("tag"),
            options.join("; "),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// `samples/organization-fields.csv` and `samples/user-fields.csv` are the seed's fields; run
/// with `ZDBULK_REGENERATE_SAMPLES=1` to write them again after the seed changes.
#[test]
fn sample_definitions_are_generated_from_the_sandbox_seed() {
    for (family, file) in
        [("organization_fields", "organization-fields.csv"), ("user_fields", "user-fields.csv")]
    {
        let want = definitions_csv(family);
        let path = samples().join(file);
        if std::env::var_os("ZDBULK_REGENERATE_SAMPLES").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(have, want, "{file} is out of date: run with ZDBULK_REGENERATE_SAMPLES=1");
    }
}

async fn fields(sb: &TestSandbox, family: &str) -> Vec<Value> {
    sb.api().get(&format!("/api/v2/{family}.json")).await.body[family].as_array().unwrap().clone()
}

/// From an empty sandbox: fields, then organizations, then users, every sample row accounted
/// for; the definitions again are all `unchanged` with no write.
#[tokio::test(flavor = "multi_thread")]
async fn the_rehearsal_runs_from_an_empty_sandbox_and_definitions_rerun_unchanged() {
    let sb = TestSandbox::start(fast_config());
    let tmp = tempfile::tempdir().unwrap();
    assert!(fields(&sb, "organization_fields").await.is_empty(), "the sandbox starts empty");
    for (resource, file) in
        [("organization-fields", "organization-fields.csv"), ("user-fields", "user-fields.csv")]
    {
        let path = samples().join(file);
        let (code, stderr, report) =
            run(&sb, tmp.path(), &["import", resource, path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(report.iter().all(|r| r[3] == "created"), "{report:?}");
    }
    let seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let made = fields(&sb, "organization_fields").await;
    let keys: Vec<&str> = made.iter().map(|f| f["key"].as_str().unwrap()).collect();
    let want: Vec<&str> = seed["organization_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, want, "every field, in the file's order");
    let tier = made.iter().find(|f| f["key"] == "tier").unwrap();
    assert_eq!(tier["custom_field_options"].as_array().unwrap().len(), 3);

    let orgs = samples().join("organizations.csv");
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "organizations", orgs.to_str().unwrap()]);
    assert_eq!(code, 1, "the planted mistakes: {stderr}");
    assert_eq!((report.len(), count(&report, "created"), count(&report, "invalid")), (300, 292, 8));
    let users = samples().join("users.csv");
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "users", users.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report.len(), 300, "every row once");
    assert_eq!(
        count(&report, "created") + count(&report, "invalid") + count(&report, "failed"),
        300
    );
    assert!(count(&report, "created") >= 280, "{report:?}");

    let path = samples().join("organization-fields.csv");
    let writes_before = crate::import::stats(&sb).await;
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "organization-fields", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(report.iter().all(|r| r[3] == "unchanged"), "{report:?}");
    let writes_after = crate::import::stats(&sb).await;
    assert_eq!(
        crate::import::writes(&writes_before),
        crate::import::writes(&writes_after),
        "a re-run writes nothing"
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A dropdown update that leaves an option out keeps it and the records' values; with
/// `--prune-options` the dry run names it and counts its records, and the run removes it.
#[tokio::test(flavor = "multi_thread")]
async fn options_left_out_are_kept_unless_pruned_and_a_prune_is_named_first() {
    let sb = TestSandbox::start(fast_config());
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("fields.csv");
    write(&defs, "key,title,type,options\ntier,Tier,dropdown,Free=free; Pro=pro; Gold=gold\n");
    let (code, stderr, _) =
        run(&sb, tmp.path(), &["import", "organization-fields", defs.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let orgs = tmp.path().join("orgs.csv");
    write(&orgs, "name,external_id,organization_fields.tier\nA,a,gold\nB,b,gold\nC,c,pro\n");
    let (code, stderr, _) =
        run(&sb, tmp.path(), &["import", "organizations", orgs.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");

    // Gold left out, Free renamed, Platinum added.
    write(
        &defs,
        "key,title,type,options\ntier,Tier,dropdown,Free plan=free; Pro=pro; Platinum=platinum\n",
    );
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "organization-fields", defs.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report[0][3], "updated");
    let tier = fields(&sb, "organization_fields").await.remove(0);
    let options: Vec<(String, String)> = tier["custom_field_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap().into(), o["value"].as_str().unwrap().into()))
        .collect();
    let pairs = |v: &[(&str, &str)]| {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(
        options,
        pairs(&[("Free plan", "free"), ("Pro", "pro"), ("Platinum", "platinum"), ("Gold", "gold")])
    );
    let held = |orgs: &Value| -> Vec<Value> {
        orgs["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["organization_fields"]["tier"].clone())
            .collect()
    };
    let records = sb.api().get("/api/v2/organizations.json").await.body;
    assert_eq!(
        held(&records),
        vec![Value::from("gold"), "gold".into(), "pro".into()],
        "values kept"
    );

    let (code, stderr, report) = run(
        &sb,
        tmp.path(),
        &["import", "organization-fields", defs.to_str().unwrap(), "--prune-options", "--dry-run"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report[0][3], "planned");
    assert!(report[0][7].contains("'Gold' (gold), held by 2 organizations"), "{:?}", report[0]);
    let records = sb.api().get("/api/v2/organizations.json").await.body;
    assert_eq!(held(&records)[0], "gold", "a dry run changes nothing");

    let (code, stderr, report) = run(
        &sb,
        tmp.path(),
        &["import", "organization-fields", defs.to_str().unwrap(), "--prune-options"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report[0][3], "updated");
    let tier = fields(&sb, "organization_fields").await.remove(0);
    assert_eq!(tier["custom_field_options"].as_array().unwrap().len(), 3, "gold removed");
    let records = sb.api().get("/api/v2/organizations.json").await.body;
    assert_eq!(held(&records), vec![Value::Null, Value::Null, "pro".into()]);
}

/// A type change, a bad key, a pattern that does not compile, a dropdown without options and a
/// tag used twice are refused before any write, each naming its row.
#[tokio::test(flavor = "multi_thread")]
async fn bad_definitions_are_invalid_naming_their_row_and_nothing_is_written() {
    let sb = TestSandbox::start(fast_config());
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("fields.csv");
    write(&defs, "key,title,type\ncode,Code,integer\n");
    let (code, stderr, _) =
        run(&sb, tmp.path(), &["import", "user-fields", defs.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    write(
        &defs,
        "key,title,type,regexp_for_validation,options\n\
         code,Code,text,,\n\
         12345,Digits,text,,\n\
         has space,Space,text,,\n\
         rx,Rx,regexp,[unclosed,\n\
         dd,DD,dropdown,,\n\
         dup,Dup,dropdown,,A=a; B=a\n",
    );
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "user-fields", defs.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(report.iter().all(|r| r[3] == "invalid"), "{report:?}");
    let says = |row: usize, text: &str| {
        let line = report.iter().find(|r| r[0] == row.to_string()).unwrap();
        assert!(line[7].starts_with(&format!("row {row}, ")) && line[7].contains(text), "{line:?}");
    };
    says(2, "changing the type of an existing field from integer to text is refused");
    says(3, "'12345' is not a field key: it cannot be digits only");
    says(4, "'has space' is not a field key");
    says(5, "'[unclosed' is not a pattern that compiles");
    says(6, "a dropdown field needs its options");
    says(7, "tag 'a' is used by two options");
    assert_eq!(fields(&sb, "user_fields").await.len(), 1, "nothing written");
}

/// `validate --fields` reads the same definitions format, offline.
#[test]
fn the_sample_definitions_validate_the_sample_records_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::common::zdbulk()
        .current_dir(tmp.path())
        .args(["validate", "organizations"])
        .arg(samples().join("organizations.csv"))
        .arg("--fields")
        .arg(samples().join("organization-fields.csv"))
        .args(["--run-dir", "v", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_csv(&tmp.path().join("v/report.csv"));
    // Offline, what only the account can tell (an organization already there) is not known.
    assert_eq!(count(&report, "valid") + count(&report, "invalid"), 300);
    assert!(count(&report, "valid") >= 292, "{report:?}");
}
