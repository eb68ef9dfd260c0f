//! `zdbulk validate organizations FILE --fields DEFS` through the real binary on files larger
//! than the reader's chunks: every row reported once and in order, repeats found however far
//! apart, a late non-UTF-8 row read and named (issue 3).

use std::io::Write as _;
use std::path::Path;

use crate::common::zdbulk;

const FIELDS: &str = "key,title,type,regexp_for_validation,tag,options\n\
    tier,Tier,dropdown,,,Free=free; Pro=pro; Enterprise=enterprise\n\
    seats,Seats,integer,,,\n";

/// Runs `zdbulk validate organizations FILE --fields DEFS` in `dir`; returns the exit code,
/// stderr, the report's rows and the failed rows.
fn validate(dir: &Path, file: &Path) -> (i32, String, Vec<Vec<String>>, Vec<Vec<String>>) {
    validate_with(dir, file, &[])
}

/// As [`validate`], with more arguments.
fn validate_with(
    dir: &Path,
    file: &Path,
    extra: &[&str],
) -> (i32, String, Vec<Vec<String>>, Vec<Vec<String>>) {
    let defs = dir.join("fields.csv");
    std::fs::write(&defs, FIELDS).unwrap();
    let out = zdbulk()
        .current_dir(dir)
        .args(["validate", "organizations"])
        .arg(file)
        .arg("--fields")
        .arg(&defs)
        .args(["--run-dir", "run", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    let read = |name: &str| -> Vec<Vec<String>> {
        match csv::ReaderBuilder::new().flexible(true).from_path(dir.join("run").join(name)) {
            Ok(mut r) => {
                r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect()
            }
            Err(_) => vec![],
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code().unwrap_or(-1), stderr, read("report.csv"), read("failed.csv"))
}

#[test]
fn repeats_far_apart_are_reported_on_both_rows_and_every_row_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(w, "name,external_id,organization_fields.tier,organization_fields.seats").unwrap();
    for i in 0..5_000 {
        // Data row i is spreadsheet row i + 2. Rows 10 and 4,902 share an external id
        // (case and spaces differ); row 3,002 has a tier that is not an option.
        let ext = match i {
            8 => "DUP-1".to_string(),
            4_900 => " dup-1 ".to_string(),
            _ => format!("ext-{i}"),
        };
        let tier = if i == 3_000 { "Gold" } else { ["free", "Pro", "enterprise"][i % 3] };
        writeln!(w, "Org {i},{ext},{tier},{}", i % 50).unwrap();
    }
    drop(w);
    let (code, stderr, report, failed) = validate(tmp.path(), &file);
    assert_eq!(code, 1, "{stderr}");
    let rows: Vec<usize> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(rows, (2..5_002).collect::<Vec<_>>(), "every row once, in input order");
    let invalid: Vec<(&str, &str)> = report
        .iter()
        .filter(|r| r[3] == "invalid")
        .map(|r| (r[0].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(
        invalid,
        vec![
            ("10", "row 10, external_id: 'DUP-1' is also on row 4902 of this file (case-insensitive)"),
            (
                "3002",
                "row 3002, organization_fields.tier: 'Gold' is not an option (options: free, pro, enterprise)"
            ),
            ("4902", "row 4902, external_id: 'dup-1' is also on row 10 of this file (case-insensitive)"),
        ]
    );
    assert_eq!(report.iter().filter(|r| r[3] == "valid").count(), 4_997);
    // The failed rows keep the cells as written, for fixing and importing again.
    let names: Vec<&str> = failed.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, vec!["Org 8", "Org 3000", "Org 4900"]);
    assert_eq!(failed[2][1], " dup-1 ");
}

#[test]
fn a_late_row_that_is_not_utf8_is_read_as_windows_1252_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(w, "name,organization_fields.tier").unwrap();
    // Past the first megabyte (which decides the encoding) so this row alone falls back.
    for i in 0..40_000 {
        if i == 39_000 {
            w.write_all(b"Soci\xe9t\xe9 39000,pro\n").unwrap();
        } else {
            writeln!(w, "Organization number {i},pro").unwrap();
        }
    }
    drop(w);
    assert!(std::fs::metadata(&file).unwrap().len() > 1 << 20);
    let (code, stderr, report, _) = validate(tmp.path(), &file);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("row 39002 of") && stderr.contains("is not valid UTF-8"), "{stderr}");
    assert_eq!(report.len(), 40_000);
    assert_eq!(report[39_000][1], "Société 39000");
    assert_eq!(report[39_000][3], "valid");
}

#[test]
fn a_file_read_as_windows_1252_is_warned_about_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("latin1.csv");
    std::fs::write(&file, b"name,organization_fields.tier\nSoci\xe9t\xe9,pro\n").unwrap();
    let (code, stderr, report, _) = validate(tmp.path(), &file);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("read as Windows-1252").count(), 1, "{stderr}");
    assert_eq!(report[0][1], "Société");
}

#[test]
fn a_row_with_more_cells_than_the_header_keeps_them_all_in_the_failed_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "name,organization_fields.tier\nAcme,pro\nBeta,pro,stray,cells\n")
        .unwrap();
    let (code, stderr, report, failed) = validate(tmp.path(), &file);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report[1][3], "invalid");
    assert_eq!(report[1][7], "row 3 has 4 cells but the header has 2 columns");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0][..2], ["Beta", "pro"]);
    assert_eq!(failed[0][3..], ["stray", "cells"], "nothing the row held is lost");
}

#[test]
fn an_id_only_row_is_keyed_by_its_id_as_a_number() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "id,organization_fields.tier\n007,pro\n12,pro\n").unwrap();
    let (code, stderr, report, _) = validate_with(tmp.path(), &file, &[]);
    assert_eq!(code, 0, "{stderr}");
    let keys: Vec<&str> = report.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(keys, ["7", "12"]);
}

/// A `validate` against the account journals itself as the dry run it is: `zdbulk resume` on
/// its directory refuses, and never imports the file.
#[tokio::test(flavor = "multi_thread")]
async fn resume_refuses_a_validate_run_and_sends_nothing() {
    let sb = crate::import::sandbox(crate::import::fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "name,external_id\nAcme,a-1\n").unwrap();
    let (code, stderr, _) =
        crate::import::run(&sb, tmp.path(), &["validate", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let before = crate::import::writes(&crate::import::stats(&sb).await);
    let out = crate::common::zdbulk()
        .current_dir(tmp.path())
        .args(["resume", "run-1", "--url", &sb.url])
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "sandbox-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to resume"), "{stderr}");
    assert_eq!(crate::import::writes(&crate::import::stats(&sb).await), before, "nothing sent");
}
