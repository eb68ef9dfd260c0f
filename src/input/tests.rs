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
    // Rows count records, and the parser skips the blank line.
    assert_eq!(rows[2].number, 4);
    assert_eq!(rows[2].cells, ["Gamma", "\"q\""]);
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
    assert_eq!(
        (rows[1].number, rows[1].cells.as_slice()),
        (4, &["Beta".to_string(), String::new()][..])
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
