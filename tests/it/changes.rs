//! `changes.csv` through the real binary (issue 9): editing cells of an imported file and
//! dry-running it lists exactly those values, old and new, under the file's own column names.

use std::path::{Path, PathBuf};

use crate::import::{fast, read_csv, run, samples, sandbox};

/// The run directory `run` made last.
fn last_run(dir: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("run-"))
        .collect();
    runs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    runs.pop().expect("a run directory")
}

/// Sets `edits` (row number as the file shows it, column, new value) in a copy of `file`;
/// returns the copy and the expected lines `row, key column value, column, old, new`.
fn edit(
    file: &Path,
    out: &Path,
    key_column: &str,
    edits: &[(usize, &str, &str)],
) -> Vec<Vec<String>> {
    let mut rows = read_csv_with_header(file);
    let header = rows[0].clone();
    let at = |c: &str| header.iter().position(|h| h == c).unwrap();
    let mut want = Vec::new();
    for &(row, column, value) in edits {
        let line = &mut rows[row - 1];
        let old = std::mem::replace(&mut line[at(column)], value.to_string());
        assert_ne!(old, value, "an edit changes the cell");
        want.push(vec![
            row.to_string(),
            line[at(key_column)].clone(),
            column.to_string(),
            old,
            value.to_string(),
        ]);
    }
    let mut w = csv::Writer::from_path(out).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    want.sort();
    want
}

fn read_csv_with_header(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_edited_cells_of_an_imported_file_are_exactly_the_changes_of_its_dry_run() {
    let sb = sandbox(fast());
    let tmp = tempfile::tempdir().unwrap();
    let orgs = samples().join("organizations.csv");
    let users = samples().join("users.csv");
    let (code, stderr, _) =
        run(&sb, tmp.path(), &["import", "organizations", orgs.to_str().unwrap()]);
    assert_eq!(code, 1, "the samples' planted mistakes: {stderr}");
    let (code, stderr, _) = run(&sb, tmp.path(), &["import", "users", users.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");

    // Organizations: ten cells across five rows, text and custom fields.
    let edited = tmp.path().join("orgs-edited.csv");
    let want = edit(
        &orgs,
        &edited,
        "external_id",
        &[
            (3, "notes", "Renewal moved to Q3"),
            (3, "details", "Head office moved"),
            (10, "notes", "Escalations go to the CSM"),
            (10, "organization_fields.crm_owner", "Dana Pérez"),
            (20, "details", "Second site in Lyon"),
            (20, "notes", "Prefers e-mail"),
            (40, "notes", "Key account"),
            (40, "organization_fields.crm_owner", "Ravi Iyer"),
            (77, "details", "Acquired by Globex"),
            (77, "notes", "Contract under review"),
        ],
    );
    let (code, stderr, report) =
        run(&sb, tmp.path(), &["import", "organizations", edited.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, 1, "{stderr}");
    let dir = last_run(tmp.path());
    let mut lines = read_csv(&dir.join("changes.csv"));
    lines.sort();
    assert_eq!(lines, want, "exactly the edited values, with their old values");
    assert_eq!(report.iter().filter(|r| r[3] == "planned").count(), 5);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["changes"], 10);

    // Users: names and a custom text field.
    let edited = tmp.path().join("users-edited.csv");
    let want = edit(
        &users,
        &edited,
        "email",
        &[
            (2, "name", "Emma O. Okafor"),
            (2, "user_fields.job_title", "Head of Sales"),
            (5, "name", "Renamed Person"),
            (5, "user_fields.job_title", "Buyer"),
            (30, "user_fields.job_title", "Chief of Staff"),
            (30, "name", "Someone Else"),
            (101, "name", "Third Person"),
            (101, "user_fields.job_title", "Analyst"),
            (202, "user_fields.job_title", "Engineer"),
            (202, "name", "Fourth Person"),
        ],
    );
    let (code, stderr, _) = run(
        &sb,
        tmp.path(),
        &["import", "users", edited.to_str().unwrap(), "--dry-run", "--welcome-email", "skip"],
    );
    assert_eq!(code, 1, "{stderr}");
    let mut lines = read_csv(&last_run(tmp.path()).join("changes.csv"));
    lines.sort();
    assert_eq!(lines, want);
}
