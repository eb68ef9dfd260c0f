//! What a run prints (issue 13): `--quiet` hides the progress display only, `--json` prints one
//! document on every exit (errors too) with the run's paths and counters, failures are grouped
//! by error code, plurals are right, and messy headers read as their API names.

use serde_json::Value;

use crate::common::zdbulk;
use crate::import::{fast, samples, sandbox};

fn env(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("ZENDESK_EMAIL", "admin@sandbox.test").env("ZENDESK_API_TOKEN", "sandbox-token")
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_still_prints_the_counts_the_failures_by_code_and_the_paths() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let orgs = samples().join("organizations.csv");
    let out = env(zdbulk().current_dir(tmp.path()))
        .args(["import", "organizations"])
        .arg(&orgs)
        .args(["--url", &sb.url, "--quiet", "--run-dir", "run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("300 rows of"), "{stdout}");
    assert!(stdout.contains("created") && stdout.contains("292"), "{stdout}");
    assert!(stdout.contains("by error code:"), "{stdout}");
    assert!(stdout.contains("report: run/report.csv"), "{stdout}");
    assert!(stdout.contains("failed rows: run/failed.csv"), "{stdout}");
    assert!(stdout.contains("3 jobs,"), "plural jobs: {stdout}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run/summary.json")).unwrap())
            .unwrap();
    let failures = summary["failures"].as_object().unwrap();
    let total: u64 = failures.values().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 8, "the 8 invalid rows, grouped: {failures:?}");
    assert!(failures.values().all(|g| g["first_row"].as_u64().unwrap() >= 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_prints_one_document_on_success_and_on_a_usage_error() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    // Messy headers: capitals, spaces and hyphens read as the API names.
    std::fs::write(&file, "Name,External ID,Shared-Tickets\nAcme,a-1,yes\n").unwrap();
    let out = env(zdbulk().current_dir(tmp.path()))
        .args(["import", "organizations", "orgs.csv", "--url", &sb.url, "--json"])
        .args(["--run-dir", "run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["counts"]["created"], 1);
    assert!(doc["run_dir"].as_str().unwrap().ends_with("run"));
    assert!(doc["report"].as_str().unwrap().ends_with("run/report.csv"));
    assert_eq!(doc["target"], format!("{}/", sb.url));
    assert_eq!(doc["too_many_jobs"], 0);
    assert_eq!(doc["exit_code"], 0);

    let out = env(zdbulk().current_dir(tmp.path()))
        .args(["import", "organizations", "missing.csv", "--url", &sb.url, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("errors are JSON too");
    assert_eq!(doc["exit_code"], 2);
    assert!(doc["error"].as_str().unwrap().contains("missing.csv"), "{doc}");
}

/// A delete run twice finds the records gone: `unchanged`, "already gone", exit 0; a dry-run
/// delete says `planned`; `validate` takes no `--mode` and no `--dry-run`.
#[tokio::test(flavor = "multi_thread")]
async fn a_delete_run_twice_reports_already_gone_and_validate_takes_no_sending_flags() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "name,external_id\nAcme,a-1\nBeta,b-2\n").unwrap();
    let f = file.to_str().unwrap();
    let (code, stderr, _) = crate::import::run(&sb, tmp.path(), &["import", "organizations", f]);
    assert_eq!(code, 0, "{stderr}");
    let delete = ["import", "organizations", f, "--mode", "delete"];
    let (code, stderr, report) =
        crate::import::run(&sb, tmp.path(), &[&delete[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(report.iter().all(|r| r[2] == "delete" && r[3] == "planned"), "{report:?}");
    let (code, stderr, report) = crate::import::run(&sb, tmp.path(), &delete);
    assert_eq!(code, 0, "{stderr}");
    assert!(report.iter().all(|r| r[3] == "deleted"), "{report:?}");
    let (code, stderr, report) = crate::import::run(&sb, tmp.path(), &delete);
    assert_eq!(code, 0, "a second delete is not a failure: {stderr}");
    assert!(report.iter().all(|r| r[3] == "unchanged" && r[7].starts_with("already gone")));

    for flag in [
        &["--mode", "update"][..],
        &["--dry-run"],
        &["--batch-size", "5"],
        &["--max-jobs", "2"],
        &["--empty-cells", "clear"],
    ] {
        let out = zdbulk()
            .args(["validate", "organizations", f, "--fields"])
            .arg(samples().join("organization-fields.csv"))
            .args(flag)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument"), "{flag:?}");
    }
}

/// Every run directory has report.html: one page with the counts, failures by error code with
/// their rows, a chart, and links to the files; cells from the input stay text.
#[tokio::test(flavor = "multi_thread")]
async fn report_html_shows_the_run_and_keeps_input_cells_as_text() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(
        &file,
        "name,external_id\nAcme,a-1\n<script>alert(1)</script>|x,b-2\n<b>Beta</b>,c-3\n",
    )
    .unwrap();
    let (code, stderr, _) =
        crate::import::run(&sb, tmp.path(), &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    // `run` names the run directory after the entries beside it: the file only.
    let page = std::fs::read_to_string(tmp.path().join("run-1/report.html")).unwrap();
    let doc = scraper::Html::parse_document(&page);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    assert_eq!(doc.select(&select("script")).count(), 0, "no markup from the input");
    assert_eq!(doc.select(&select("b")).count(), 0);
    let text = |css: &str| -> Vec<String> {
        doc.select(&select(css)).map(|e| e.text().collect::<String>()).collect()
    };
    assert_eq!(text("#counts tr"), ["created2", "invalid1"]);
    let failures = text("#failures tr");
    assert_eq!(failures.len(), 2, "a header and one group: {failures:?}");
    assert!(failures[1].contains("<script>alert(1)</script>"), "shown as text: {failures:?}");
    assert!(failures[1].contains("row 3"), "{failures:?}");
    let links: Vec<&str> =
        doc.select(&select("#files a")).filter_map(|a| a.value().attr("href")).collect();
    assert_eq!(links, ["report.csv", "failed.csv", "changes.csv", "summary.json"]);
    assert_eq!(doc.select(&select("#throughput rect")).count(), 1, "one minute, one bar");
    assert!(text("#run").concat().contains(&sb.url), "the target is named");
}

/// The failed rows open the way the input did: a semicolon, CRLF, Windows-1252 CSV gets a
/// failed.csv in that dialect, which imports back as it is; an XLSX's failed.xlsx keeps its
/// sheet's name.
#[tokio::test(flavor = "multi_thread")]
async fn failed_rows_are_written_in_the_inputs_own_dialect() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    let text = "name;external_id;notes\r\nSociété Générale;s-1;a,b\r\nBad|Name;s-2;Crème\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    std::fs::write(&file, &bytes).unwrap();
    let (code, stderr, report) =
        crate::import::run(&sb, tmp.path(), &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report[1][3], "invalid");
    let failed = std::fs::read(tmp.path().join("run-1/failed.csv")).unwrap();
    assert!(failed.starts_with(b"name;external_id;notes;zdbulk_error\r\n"), "{failed:?}");
    assert!(failed.windows(5).any(|w| w == b"Cr\xE8me"), "Windows-1252, as the input");
    assert!(failed.ends_with(b"\r\n"));
    // Read back as it is: the same row, the same cells, the same reason.
    let again = tmp.path().join("run-1/failed.csv");
    let (code, _, report) =
        crate::import::run(&sb, tmp.path(), &["import", "organizations", again.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!((report.len(), report[0][1].as_str(), report[0][3].as_str()), (1, "s-2", "invalid"));

    let xlsx = samples().join("organizations.xlsx");
    let (code, stderr, _) =
        crate::import::run(&sb, tmp.path(), &["import", "organizations", xlsx.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let wb: calamine::Xlsx<_> =
        calamine::open_workbook(tmp.path().join("run-3/failed.xlsx")).unwrap();
    use calamine::Reader as _;
    let input: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(wb.sheet_names(), input.sheet_names()[..1].to_vec());
}

/// `--map` mistakes name the map file and row: a `from` the file lacks, and a `to` that is not
/// a column.
#[test]
fn map_file_mistakes_name_the_map_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("m.csv"), "Company,Web\nAcme,acme.com\n").unwrap();
    std::fs::write(tmp.path().join("typo.csv"), "from,to\nCompany,name\nWebsite,domain_names\n")
        .unwrap();
    std::fs::write(tmp.path().join("bad_to.csv"), "from,to\nCompany,nam\nWeb,domain_names\n")
        .unwrap();
    let fields = samples().join("organization-fields.csv");
    let run = |map: &str| {
        let out = zdbulk()
            .current_dir(tmp.path())
            .args(["validate", "organizations", "m.csv", "--map", map, "--fields"])
            .arg(&fields)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, stderr) = run("typo.csv");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("row 3 of the --map file typo.csv"), "{stderr}");
    assert!(stderr.contains("no column 'Website'") && stderr.contains("Company, Web"), "{stderr}");
    let (code, stderr) = run("bad_to.csv");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("'Company' (renamed by bad_to.csv, row 2) to 'nam'"), "{stderr}");
    assert!(stderr.contains("did you mean 'name'"), "{stderr}");
}

/// A workbook whose first sheet is not the data names its sheets and `--sheet`; an empty
/// first sheet does too; `--sheet` on CSV text is refused.
#[test]
fn a_workbook_whose_first_sheet_is_not_the_data_names_its_sheets() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, first: Option<&str>| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let intro = wb.add_worksheet().set_name("Instructions").unwrap();
        if let Some(text) = first {
            intro.write_string(0, 0, text).unwrap();
        }
        let data = wb.add_worksheet().set_name("Data").unwrap();
        for (c, h) in ["name", "external_id"].iter().enumerate() {
            data.write_string(0, c as u16, *h).unwrap();
        }
        data.write_string(1, 0, "Acme").unwrap();
        data.write_string(1, 1, "a-1").unwrap();
        wb.save(tmp.path().join(name)).unwrap();
    };
    write("cover.xlsx", Some("Fill in the Data sheet"));
    write("empty.xlsx", None);
    let fields = samples().join("organization-fields.csv");
    let run = |args: &[&str]| {
        let out = zdbulk()
            .current_dir(tmp.path())
            .arg("validate")
            .args(args)
            .arg("--fields")
            .arg(&fields)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    for file in ["cover.xlsx", "empty.xlsx"] {
        let (code, stderr) = run(&["organizations", file]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("'Instructions', 'Data'") && stderr.contains("--sheet"),
            "{stderr}"
        );
    }
    let (code, stderr) = run(&["organizations", "cover.xlsx", "--sheet", "Data"]);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(tmp.path().join("t.csv"), "name\nAcme\n").unwrap();
    let (code, stderr) = run(&["organizations", "t.csv", "--sheet", "Data"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--sheet 'Data' is for XLSX workbooks"), "{stderr}");
}

/// An account that cannot be used at all (credentials refused) still leaves a run directory
/// whose report has every row, skipped, and a failed file holding them all.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_use_the_account_still_accounts_for_every_row() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let orgs = samples().join("organizations.csv");
    let out = zdbulk()
        .current_dir(tmp.path())
        .args(["import", "organizations"])
        .arg(&orgs)
        .args(["--url", &sb.url, "--run-dir", "run"])
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "not-the-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("nothing was sent; every row has a line in run/report.csv"),
        "{stderr}"
    );
    let report = crate::import::read_csv(&tmp.path().join("run/report.csv"));
    assert_eq!(report.len(), 300);
    assert!(report.iter().all(|r| r[3] == "skipped" && r[6] == "ApiUnreachable"));
    assert_eq!(crate::import::read_csv(&tmp.path().join("run/failed.csv")).len(), 300);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        (summary["exit_code"].as_u64(), summary["counts"]["skipped"].as_u64()),
        (Some(3), Some(300))
    );
    assert!(!stderr.contains("not-the-token"), "no secret in the output");
}

/// `export --json` prints one document too, on success and on a usage error.
#[tokio::test(flavor = "multi_thread")]
async fn export_json_prints_one_document_on_success_and_on_error() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("orgs.csv");
    std::fs::write(&file, "name,external_id\nAcme,a-1\nBeta,b-2\n").unwrap();
    let (code, stderr, _) =
        crate::import::run(&sb, tmp.path(), &["import", "organizations", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let out = env(zdbulk().current_dir(tmp.path()))
        .args(["export", "organizations", "-o", "out.csv", "--url", &sb.url, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!((doc["records"].as_u64(), doc["exit_code"].as_u64()), (Some(2), Some(0)));
    let out = env(zdbulk().current_dir(tmp.path()))
        .args(["export", "organizations", "-o", "out.csv", "--url", &sb.url, "--json"])
        .args(["--since", "yesterday-ish"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("errors are JSON too");
    assert_eq!(doc["exit_code"], 2);
}

/// Every command's `--help` ends with examples.
#[test]
fn every_commands_help_has_examples() {
    for command in ["import", "validate", "resume", "undo", "export", "merge", "auth", "sandbox"] {
        let out = zdbulk().args([command, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Examples:\n  # "), "{command} --help has no examples:\n{help}");
        assert!(help.contains(&format!("zdbulk {command}")), "{command}: an example of itself");
    }
}
