//! The input readers on real files: workbooks written at test time (with rust_xlsxwriter, or
//! by hand where it cannot write what a file needs), CSV files, and the header mapping they
//! feed, through the library; and `zdbulk validate` on such files through the binary.

use std::path::{Path, PathBuf};

use crate::common::zdbulk;

use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use zdbulk::cli::Resource;
use zdbulk::input::{
    map_header, open_input, Dialect, InputError, InputFormat, ListSeparator, Renames, Row,
};

fn rows_of(path: &Path, sheet: Option<&str>) -> Vec<Row> {
    open_input(path, sheet).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

/// A workbook with every kind of cell a user's sheet holds, plus an empty formatted row at
/// the end (which widens the sheet's range but holds nothing).
fn typed_workbook(dir: &Path) -> PathBuf {
    let path = dir.join("orgs.xlsx");
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Organizations").unwrap();
    for (col, name) in
        ["name", "external_id", "organization_fields.since", "score", "shared_tickets", "ratio"]
            .iter()
            .enumerate()
    {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "Acme").unwrap();
    sheet.write_number(1, 1, 1234).unwrap();
    let day = ExcelDateTime::from_ymd(2024, 1, 15).unwrap();
    sheet.write_datetime_with_format(1, 2, &day, &date).unwrap();
    sheet.write_number(1, 3, 12.5).unwrap();
    sheet.write_boolean(1, 4, true).unwrap();
    sheet.write_formula(1, 5, Formula::new("=1/0").set_result("#DIV/0!")).unwrap();

    sheet.write_string(2, 0, "Beta").unwrap();
    let moment = ExcelDateTime::from_ymd(2024, 1, 15).unwrap().and_hms(18, 30, 0).unwrap();
    sheet.write_datetime_with_format(2, 2, &moment, &stamp).unwrap();
    sheet.write_boolean(2, 4, false).unwrap();
    sheet.write_blank(9, 0, &date).unwrap();
    workbook.save(&path).unwrap();
    path
}

#[test]
fn xlsx_cells_read_as_the_text_a_csv_would_hold() {
    let dir = tempfile::tempdir().unwrap();
    let path = typed_workbook(dir.path());
    let input = open_input(&path, None).unwrap();
    assert_eq!(input.format(), &InputFormat::Xlsx { sheet: "Organizations".into() });
    assert_eq!(input.header().row, 1);
    assert_eq!(input.header().names()[2], "organization_fields.since");
    let rows = input.collect::<Result<Vec<_>, _>>().unwrap();

    assert_eq!(rows.len(), 2, "the empty formatted row 10 is skipped: {rows:?}");
    let acme = &rows[0];
    assert_eq!(acme.number, 2);
    assert_eq!(acme.cells, ["Acme", "1234", "2024-01-15", "12.5", "true", "#DIV/0!"]);
    assert_eq!(
        acme.problem.as_deref(),
        Some("column 'ratio' (row 2) holds the Excel error #DIV/0!")
    );
    let beta = &rows[1];
    assert_eq!(beta.number, 3);
    assert_eq!(beta.cells, ["Beta", "", "2024-01-15T18:30:00", "", "false", ""]);
    assert_eq!(beta.problem, None);
}

#[test]
fn xlsx_sheet_choice_and_unknown_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.xlsx");
    let mut workbook = Workbook::new();
    let first = workbook.add_worksheet();
    first.set_name("Notes").unwrap();
    first.write_string(0, 0, "ignore me").unwrap();
    let users = workbook.add_worksheet();
    users.set_name("Users").unwrap();
    // The table starts at B3: row numbers are the sheet's, not the range's.
    users.write_string(2, 1, "email").unwrap();
    users.write_string(2, 2, "name").unwrap();
    users.write_string(3, 1, "ann@example.com").unwrap();
    users.write_string(3, 2, "Ann").unwrap();
    users.write_string(4, 1, "bob@example.com").unwrap();
    users.write_string(4, 4, "stray").unwrap();
    workbook.save(&path).unwrap();

    let input = open_input(&path, Some("users")).unwrap();
    assert_eq!(input.header().names(), ["email", "name"]);
    assert_eq!(input.header().row, 3);
    let rows = input.collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(
        (rows[0].number, rows[0].cells.clone()),
        (4, vec!["ann@example.com".into(), "Ann".into()])
    );
    assert_eq!(rows[0].problem, None);
    // A value right of the header's last column makes the row ragged, as in CSV.
    assert_eq!(rows[1].number, 5);
    assert_eq!(rows[1].problem.as_deref(), Some("row 5 has 4 cells but the header has 2 columns"));

    let err = open_input(&path, Some("Orgs")).err().unwrap();
    assert!(matches!(err, InputError::NoSheet { .. }));
    assert_eq!(
        err.to_string(),
        format!("no sheet 'Orgs' in {}: the sheets are 'Notes', 'Users'", path.display())
    );
    // Without --sheet, the first sheet is read.
    let input = open_input(&path, None).unwrap();
    assert_eq!(input.header().names(), ["ignore me"]);
}

#[test]
fn legacy_csv_reads_and_maps_with_its_separators() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.csv");
    std::fs::write(
        &path,
        "Name;Default;Tags;custom_fields.Tier\n\"Acme; Inc\";acme.com acme.org;vip gold;2\n",
    )
    .unwrap();
    let input = open_input(&path, None).unwrap();
    let mapped = map_header(Resource::Organizations, &input.header().names(), None).unwrap();
    assert_eq!(mapped.dialect, Dialect::Legacy);
    let rows = input.collect::<Result<Vec<_>, _>>().unwrap();
    let domains = mapped.column("domain_names").unwrap();
    assert_eq!(domains.separator, Some(ListSeparator::Spaces));
    assert_eq!(
        domains.separator.unwrap().split(&rows[0].cells[domains.index]),
        ["acme.com", "acme.org"]
    );
    assert_eq!(rows[0].cells[mapped.index_of("name").unwrap()], "Acme; Inc");
    assert_eq!(mapped.index_of("organization_fields.Tier"), Some(3));
}

#[test]
fn map_file_renames_columns_before_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.csv");
    std::fs::write(&map, "from,to\nE-Mail Address,email\nFull Name,name\nLegacy Id,\n").unwrap();
    let renames = Renames::from_path(&map).unwrap();
    assert_eq!(renames.len(), 3);
    let raw: Vec<String> =
        ["Full Name", "E-Mail Address", "legacy id"].iter().map(|s| s.to_string()).collect();
    let mapped = map_header(Resource::Users, &raw, Some(&renames)).unwrap();
    assert_eq!(mapped.index_of("name"), Some(0));
    assert_eq!(mapped.index_of("email"), Some(1));
    assert_eq!(mapped.columns[2], None);

    std::fs::write(&map, "from,to\na,b,c\n").unwrap();
    let err = Renames::from_path(&map).unwrap_err();
    assert!(err.to_string().contains("row 2 of the --map file"), "{err}");
}

#[test]
fn a_large_csv_streams_row_by_row() {
    // 200,000 rows: the reader hands them out one at a time and numbers them all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut text = String::from("name,external_id\n");
    for i in 0..200_000 {
        text.push_str(&format!("Org {i},ext-{i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let mut count = 0;
    let mut last = 0;
    for row in open_input(&path, None).unwrap() {
        let row = row.unwrap();
        count += 1;
        last = row.number;
    }
    assert_eq!((count, last), (200_000, 200_001));
    let rows = rows_of(&path, None);
    assert_eq!(rows[199_999].cells, ["Org 199999", "ext-199999"]);
}

// ---------------------------------------------------------------------------------------------
// Through the binary: `zdbulk validate organizations FILE --fields DEFS`, offline.

/// Runs `zdbulk validate organizations FILE` in `dir` with no custom fields; returns the exit
/// code, stderr, the report's rows and the failed file's path (`failed.csv` or `.xlsx`).
fn validate(dir: &Path, file: &Path, run: &str) -> (i32, String, Vec<Vec<String>>, PathBuf) {
    let defs = dir.join("fields.csv");
    std::fs::write(&defs, "key,title,type\n").unwrap();
    let out = zdbulk()
        .current_dir(dir)
        .args(["validate", "organizations"])
        .arg(file)
        .arg("--fields")
        .arg(&defs)
        .args(["--run-dir", run, "--quiet"])
        .output()
        .unwrap();
    let report = csv::Reader::from_path(dir.join(run).join("report.csv"))
        .map(|mut r| r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect())
        .unwrap_or_default();
    let failed = ["failed.csv", "failed.xlsx"]
        .iter()
        .map(|name| dir.join(run).join(name))
        .find(|p| p.exists())
        .unwrap_or_default();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into(), report, failed)
}

/// (row, status, message) of every report line.
fn verdicts(report: &[Vec<String>]) -> Vec<(String, String, String)> {
    report.iter().map(|r| (r[0].clone(), r[3].clone(), r[7].clone())).collect()
}

#[test]
fn validate_reports_csv_rows_by_spreadsheet_number_and_a_short_row_stays_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orgs.csv");
    // Row 3 is blank, row 4 is short, row 5 is one record on two lines, row 6 is blank.
    std::fs::write(
        &file,
        "name,notes\r\nAcme,a\r\n\r\nBeta\r\nGamma,\"two\r\nlines\"\r\n\r\nDelta,d\r\n",
    )
    .unwrap();
    let (code, stderr, report, failed) = validate(dir.path(), &file, "first");
    assert_eq!(code, 1, "{stderr}");
    let rows: Vec<_> = verdicts(&report).into_iter().map(|(r, s, _)| (r, s)).collect();
    let expected = [("2", "valid"), ("4", "invalid"), ("5", "valid"), ("7", "valid")];
    assert_eq!(rows, expected.map(|(r, s)| (r.to_string(), s.to_string())));
    assert!(failed.ends_with("failed.csv"), "{failed:?}");
    let text = std::fs::read_to_string(&failed).unwrap();
    // The input ends its lines with CRLF: so does its failed file.
    assert!(
        text.starts_with("name,notes,zdbulk_error\r\nBeta,,[short row: 1 of 2 cells] "),
        "{text}"
    );

    // Imported back unreviewed, the padded row is refused again, not read as an empty note.
    let (code, stderr, report, _) = validate(dir.path(), &failed, "again");
    assert_eq!(code, 1, "{stderr}");
    let (row, status, message) = &verdicts(&report)[0];
    assert_eq!((row.as_str(), status.as_str()), ("2", "invalid"));
    assert!(message.contains("had 1 of 2 cells in the file it came from"), "{message}");

    // With the note's missing cell filled in, it is valid.
    std::fs::write(&failed, text.replacen("Beta,,", "Beta,b,", 1)).unwrap();
    let (code, stderr, report, _) = validate(dir.path(), &failed, "fixed");
    assert_eq!((code, verdicts(&report)[0].1.as_str()), (0, "valid"), "{stderr}");
}

#[test]
fn validate_refuses_uncomputed_formulas_and_rounded_numbers_in_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orgs.xlsx");
    let sheet = [
        format!(
            r#"<row r="2">{}{}</row>"#,
            text_cell("B2", "name"),
            text_cell("C2", "external_id")
        ),
        format!(
            r#"<row r="3">{}<c r="C3"><v>12345678901234567890</v></c></row>"#,
            text_cell("B3", "Acme")
        ),
        format!(r#"<row r="5">{}<c r="C5"><f>B5&amp;"-1"</f></c></row>"#, text_cell("B5", "Beta")),
        format!(
            r#"<row r="7">{}<c r="C7"><v>9007199254740991</v></c></row>"#,
            text_cell("B7", "Gamma")
        ),
    ]
    .concat();
    std::fs::write(&file, handmade_xlsx(&sheet)).unwrap();
    let (code, stderr, report, failed) = validate(dir.path(), &file, "run");
    assert_eq!(code, 1, "{stderr}");
    let v = verdicts(&report);
    assert_eq!(
        v.iter().map(|(r, s, _)| (r.as_str(), s.as_str())).collect::<Vec<_>>(),
        [("3", "invalid"), ("5", "invalid"), ("7", "valid")]
    );
    assert!(
        v[0].2.contains("column 'external_id' (row 3) holds the number 12345678901234567000"),
        "{}",
        v[0].2
    );
    assert!(v[0].2.contains("format the column as Text in Excel"), "{}", v[0].2);
    assert!(
        v[1].2.contains(
            "column 'external_id' (row 5) holds the formula '=B5&\"-1\"' with no computed value"
        ),
        "{}",
        v[1].2
    );
    // The failed workbook shows what the cells held, not empty cells.
    let rows = rows_of(&failed, None);
    assert_eq!(rows[1].cells[..2], ["Beta", "=B5&\"-1\""]);
}

// A workbook with formulas saved without their values: `handmade_xlsx`, `text_cell`.
include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/xlsx_zip.rs"));
