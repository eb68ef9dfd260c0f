//! Reader tests on real files in a temp dir: encodings, row numbers, ragged rows, sniffing.

use std::path::PathBuf;

use super::*;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read_all(path: &Path) -> (Input, Vec<Row>) {
    let mut input = open_input(path, None).unwrap();
    let rows = input.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (input, rows)
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

#[test]
fn utf8_bom_is_stripped_from_the_first_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.csv", "\u{FEFF}name,notes\nCafé,x\n".as_bytes());
    let (input, rows) = read_all(&path);
    assert_eq!(input.header().names(), ["name", "notes"]);
    assert_eq!(rows[0].cells, ["Café", "x"]);
    assert_eq!(
        input.format(),
        &InputFormat::Csv { delimiter: b',', encoding: TextEncoding::Utf8Bom }
    );
    assert!(input.warnings().is_empty());
}

#[test]
fn utf16_le_and_be_with_bom() {
    let dir = tempfile::tempdir().unwrap();
    for (big_endian, encoding) in [(false, TextEncoding::Utf16Le), (true, TextEncoding::Utf16Be)] {
        // Excel's "Unicode Text" is tab-separated UTF-16LE.
        let path = write(&dir, "u.txt", &utf16("name\tnotes\r\nZoë\t😀\r\n", big_endian));
        let (input, rows) = read_all(&path);
        assert_eq!(input.header().names(), ["name", "notes"]);
        assert_eq!(rows[0].cells, ["Zoë", "😀"]);
        assert_eq!(rows[0].number, 2);
        assert_eq!(input.format(), &InputFormat::Csv { delimiter: b'\t', encoding });
    }
}

#[test]
fn windows_1252_fallback_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "w.csv", b"name;city\nRen\xE9;Z\xFCrich\n");
    let (input, rows) = read_all(&path);
    assert_eq!(rows[0].cells, ["René", "Zürich"]);
    assert_eq!(
        input.format(),
        &InputFormat::Csv { delimiter: b';', encoding: TextEncoding::Windows1252 }
    );
    assert_eq!(input.warnings().len(), 1);
    assert!(input.warnings()[0].ends_with("is not UTF-8; read as Windows-1252"));
}

#[test]
fn a_late_non_utf8_row_is_read_as_1252_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"name,notes\nCaf\xC3\xA9,x\n".to_vec();
    bytes.extend(b"a,b\n".repeat(300_000)); // pushes the next row past the sniffed megabyte
    bytes.extend(b"Ren\xE9,y\n");
    let path = write(&dir, "late.csv", &bytes);
    let (input, rows) = read_all(&path);
    assert_eq!(rows[0].cells, ["Café", "x"]);
    let last = rows.last().unwrap();
    assert_eq!(last.cells, ["René", "y"]);
    assert_eq!(last.number, 300_003);
    assert_eq!(input.warnings().len(), 1, "{:?}", input.warnings());
    assert!(input.warnings()[0].starts_with("row 300003 of"), "{:?}", input.warnings());
}

#[test]
fn quoted_newlines_keep_spreadsheet_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name,notes\r\nAcme,\"line one\r\nline two\nline three\"\r\nBeta,b\r\n\r\nGamma,\"\"\"q\"\"\"\r\n";
    let path = write(&dir, "q.csv", text.as_bytes());
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].cells[1], "line one\r\nline two\nline three");
    assert_eq!(rows[1].number, 3);
    assert_eq!(rows[1].cells, ["Beta", "b"]);
    // The blank line is row 4, as in a spreadsheet: skipped, but Gamma stays on row 5.
    assert_eq!(rows[2].number, 5);
    assert_eq!(rows[2].cells, ["Gamma", "\"q\""]);
}

/// The (row number, first cell) of every row read from `text`, and the header's row.
fn numbered(text: &[u8]) -> (usize, Vec<(usize, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "n.csv", text);
    let (input, rows) = read_all(&path);
    (input.header().row, rows.into_iter().map(|r| (r.number, r.cells[0].clone())).collect())
}

#[test]
fn blank_lines_are_rows_that_keep_the_numbers_a_spreadsheet_shows() {
    // The same table with blank lines before the header, between rows and at the end, in
    // every line ending (a bare CR is what old Mac Excel wrote).
    for eol in ["\n", "\r\n", "\r"] {
        let text = ["", "name,notes", "Acme,a", "", "", "Beta,b", ",", "Gamma,c", "", ""].join(eol);
        let (header, rows) = numbered(text.as_bytes());
        assert_eq!(header, 2, "{eol:?}");
        assert_eq!(
            rows,
            [(3, "Acme".to_string()), (6, "Beta".into()), (8, "Gamma".into())],
            "{eol:?}"
        );
    }
    // Mixed line endings, a quoted value spanning CRLF and LF lines, and blank lines after it.
    let text = "name,notes\r\nAcme,\"one\r\ntwo\n\nthree\"\n\r\n\nBeta,b\rGamma,c";
    let (_, rows) = numbered(text.as_bytes());
    assert_eq!(rows, [(2, "Acme".to_string()), (5, "Beta".into()), (6, "Gamma".into())]);
}

#[test]
fn row_numbers_hold_past_the_parsers_read_ahead() {
    // Far more than the 64 KB the counter keeps, with a blank line every tenth row.
    let mut text = String::from("name\r\n");
    let mut expected = Vec::new();
    let mut line = 2;
    for i in 0..20_000 {
        if i % 10 == 0 {
            text.push_str("\r\n");
            line += 1;
        }
        text.push_str(&format!("\"Org\n{i}\"\r\n"));
        expected.push((line, format!("Org\n{i}")));
        line += 1;
    }
    let (_, rows) = numbered(text.as_bytes());
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows, expected);
}

#[test]
fn utf16_blank_lines_count_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "u.txt", &utf16("name\tnotes\r\n\r\nZoë\t😀\r\n", false));
    let (_, rows) = read_all(&path);
    assert_eq!(rows[0].number, 3);
}

#[test]
fn ragged_rows_are_a_row_problem_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "r.csv", b"name,notes,tags\nAcme,x\nBeta,y,z,extra\nGamma,a,b\n");
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].problem.as_deref(), Some("row 2 has 2 cells but the header has 3 columns"));
    assert_eq!(rows[1].problem.as_deref(), Some("row 3 has 4 cells but the header has 3 columns"));
    assert_eq!(rows[2].problem, None);
}

#[test]
fn values_are_not_trimmed_and_empty_rows_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "t.csv", b"name,notes\n  Acme , x \n,\n\nBeta,\n");
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cells, ["  Acme ", " x "]);
    // `,` (row 3) and the blank line (row 4) hold nothing and are skipped; Beta is row 5.
    assert_eq!(
        (rows[1].number, rows[1].cells.as_slice()),
        (5, &["Beta".to_string(), String::new()][..])
    );
}

#[test]
fn empty_file_and_missing_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "e.csv", b"\n\n");
    let err = open_input(&path, None).err().unwrap();
    assert!(matches!(err, InputError::Empty { .. }), "{err:?}");
    assert!(err.to_string().ends_with("e.csv is empty: expected a header row"), "{err}");
    let err = open_input(&dir.path().join("none.csv"), None).err().unwrap();
    assert!(matches!(err, InputError::Open { .. }), "{err:?}");
}

#[test]
fn repeated_header_names_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "d.csv", b"name,Name \nA,B\n");
    let err = open_input(&path, None).err().unwrap();
    assert!(err.to_string().starts_with("column 'Name' appears twice"), "{err}");
}

#[test]
fn unknown_extensions_are_sniffed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "data.export", b"name|notes\nA|B\n");
    let (input, rows) = read_all(&path);
    assert!(matches!(input.format(), InputFormat::Csv { delimiter: b'|', .. }));
    assert_eq!(rows[0].cells, ["A", "B"]);
    // A ZIP that is no workbook goes to the XLSX reader and fails there, not as CSV garbage.
    let path = write(&dir, "data.bin", b"PK\x03\x04 not really a zip");
    let err = open_input(&path, None).err().unwrap();
    assert!(matches!(err, InputError::Xlsx { .. }), "{err:?}");
}

#[test]
fn legacy_spreadsheet_formats_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "old.xls", b"\xD0\xCF\x11\xE0");
    let err = open_input(&path, None).err().unwrap();
    assert!(err.to_string().contains(".xls files are not supported"), "{err}");
}

// A workbook with formulas saved without their values: `handmade_xlsx`, `text_cell`.
include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/xlsx_zip.rs"));

#[test]
fn a_formula_saved_without_its_value_makes_the_row_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = [
        format!(r#"<row r="1">{}{}{}</row>"#, text_cell("A1", "name"), text_cell("B1", "notes"), text_cell("C1", "tags")),
        // Computed formulas read as their values; a computed empty text (`=""`, as Excel
        // saves it) is an empty cell. (An empty `<v/>` reads the same way: calamine cannot
        // tell them apart, so only a formula with no value at all is refused.)
        format!(r#"<row r="2">{}<c r="B2" t="str"><f>LOWER(A2)</f><v>acme</v></c><c r="C2" t="str"><f>""</f><v></v></c></row>"#, text_cell("A2", "Acme")),
        // Saved with no value: calamine alone would read an empty cell.
        format!(r#"<row r="3">{}<c r="B3"><f>A1+B1</f></c></row>"#, text_cell("A3", "Beta")),
        // A row that holds nothing but uncomputed formulas is not a blank row.
        r#"<row r="5"><c r="A5"><f>CONCAT("a","b")</f></c><c r="C5"><f>A2&amp;"x"</f></c></row>"#.to_string(),
        // Past the header's last column.
        format!(r#"<row r="6">{}<c r="E6"><f>1+1</f></c></row>"#, text_cell("A6", "Delta")),
    ]
    .concat();
    let path = write(&dir, "f.xlsx", &handmade_xlsx(&sheet));
    let (input, rows) = read_all(&path);
    assert_eq!(input.header().names(), ["name", "notes", "tags"]);
    let summary: Vec<_> =
        rows.iter().map(|r| (r.number, r.cells.clone(), r.problem.clone())).collect();
    assert_eq!(summary[0], (2, vec!["Acme".into(), "acme".into(), String::new()], None));
    assert_eq!(
        summary[1],
        (
            3,
            vec!["Beta".into(), "=A1+B1".into(), String::new()],
            Some(
                "column 'notes' (row 3) holds the formula '=A1+B1' with no computed value (the \
                 file was saved by a program that does not calculate formulas); open and save \
                 it in Excel, or replace the formulas by their values"
                    .into()
            )
        )
    );
    let (number, cells, problem) = &summary[2];
    assert_eq!(
        (*number, cells.as_slice()),
        (5, &["=CONCAT(\"a\",\"b\")".to_string(), String::new(), "=A2&\"x\"".into()][..])
    );
    let problem = problem.as_deref().unwrap();
    assert!(
        problem.starts_with("column 'name' (row 5) holds the formula '=CONCAT(\"a\",\"b\")'"),
        "{problem}"
    );
    assert!(problem.contains("; column 'tags' (row 5) holds the formula '=A2&\"x\"'"), "{problem}");
    let (number, _, problem) = &summary[3];
    assert_eq!(*number, 6);
    let problem = problem.as_deref().unwrap();
    assert!(problem.starts_with("column 'E' (row 6) holds the formula '=1+1'"), "{problem}");
    assert!(problem.ends_with("row 6 has 5 cells but the header has 3 columns"), "{problem}");
    assert_eq!(rows.len(), 4);
}

#[test]
fn xlsx_rows_keep_the_sheets_numbers_across_empty_rows() {
    use rust_xlsxwriter::{Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gaps.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    // The table starts on row 4 (column C); rows 6-8 are empty, one of them formatted.
    sheet.write_string(3, 2, "name").unwrap();
    sheet.write_string(3, 3, "notes").unwrap();
    sheet.write_string(4, 2, "Acme").unwrap();
    sheet.write_blank(6, 2, &Format::new().set_bold()).unwrap();
    sheet.write_string(8, 3, "only a note").unwrap();
    sheet.write_string(10, 2, "Gamma").unwrap();
    sheet.write_number(10, 3, 12_345_678_901_234_567_890.0).unwrap();
    workbook.save(&path).unwrap();
    let (input, rows) = read_all(&path);
    assert_eq!(input.header().row, 4);
    let numbers: Vec<_> = rows.iter().map(|r| (r.number, r.cells.clone())).collect();
    assert_eq!(
        numbers,
        [
            (5, vec!["Acme".to_string(), String::new()]),
            (9, vec![String::new(), "only a note".into()]),
            (11, vec!["Gamma".into(), "12345678901234567000".into()]),
        ]
    );
    let problem = rows[2].problem.as_deref().unwrap();
    assert!(
        problem.starts_with("column 'notes' (row 11) holds the number 12345678901234567000, too large for Excel to keep exactly"),
        "{problem}"
    );
    assert!(problem.contains("format the column as Text in Excel"), "{problem}");
    assert_eq!(rows[0].problem, None);
}

#[test]
fn lines_of_only_spaces_or_separators_are_blank_rows_and_keep_the_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name;notes;tags\r\nA;x;y\r\n\r\nB;x;y\r\n   \r\n;;\r\n ; ;\r\nC;x;y\r\n";
    let path = write(&dir, "a.csv", text.as_bytes());
    let (_, rows) = read_all(&path);
    let numbers: Vec<usize> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [2, 4, 8]);
    assert!(rows.iter().all(|r| r.problem.is_none()), "{rows:?}");
}

#[test]
fn excels_sep_line_names_the_delimiter_and_is_not_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("semi.csv");
    std::fs::write(&path, "SEP=;\r\nname;notes\r\nAcme;a,b\r\n").unwrap();
    let input = open_input(&path, None).unwrap();
    assert_eq!(input.header().names(), vec!["name".to_string(), "notes".to_string()]);
    let rows: Vec<Row> = input.map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].number, rows[0].cells.clone()), (3, vec!["Acme".into(), "a,b".into()]));
}
