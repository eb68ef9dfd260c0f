//! The input readers on real files: workbooks written with rust_xlsxwriter at test time, CSV
//! files, and the header mapping they feed. (No command reads input yet, so these call the
//! library directly.)

use std::path::{Path, PathBuf};

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
