//! Property tests of the CSV reader: arbitrary and malformed bytes held to an oracle that
//! decodes and parses another way, and files the csv crate writes (`written`) read back.

mod written;

use proptest::prelude::*;

use zdbulk::input::InputFormat;

use super::{config, read_back, svec, write, ReadBack};
use written::{round_trip, written};

// ---------------------------------------------------------------------------------------------
// CSV: the oracle.

/// What the CSV reader must return for `bytes`, worked out another way: decode by the
/// documented rules (a BOM says the encoding; otherwise UTF-8 record by record with
/// Windows-1252 for a record that is not, or Windows-1252 throughout when the file is not
/// UTF-8), parse with the csv crate directly, take the first record that is not all empty as
/// the header, and skip records of nothing but ASCII whitespace. `None`: no header at all.
/// Files under a megabyte only (the whole file is what the reader sniffs).
fn csv_oracle(bytes: &[u8], delimiter: u8) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let decode_1252 =
        |b: &[u8]| encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0.into_owned();
    let (body, utf8): (Vec<u8>, bool) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (rest.to_vec(), true)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        let text = encoding_rs::UTF_16LE.decode_without_bom_handling(rest).0;
        (text.into_owned().into_bytes(), true)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        let text = encoding_rs::UTF_16BE.decode_without_bom_handling(rest).0;
        (text.into_owned().into_bytes(), true)
    } else {
        (bytes.to_vec(), std::str::from_utf8(bytes).is_ok())
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(&body[..]);
    let mut records = Vec::new();
    for record in reader.byte_records() {
        let record = record.expect("reading from memory does not fail");
        let fields: Vec<&[u8]> = record.iter().collect();
        let all_utf8 = utf8 && fields.iter().all(|f| std::str::from_utf8(f).is_ok());
        let cells: Vec<String> = fields
            .iter()
            .map(|f| if all_utf8 { String::from_utf8(f.to_vec()).unwrap() } else { decode_1252(f) })
            .collect();
        records.push((record.iter().all(<[u8]>::is_empty), cells));
    }
    let start = records.iter().position(|(empty, _)| !empty)?;
    let mut header = records[start].1.clone();
    if let Some(rest) = header[0].strip_prefix('\u{FEFF}') {
        header[0] = rest.to_string();
    }
    // The formula-injection guard (a leading `'` before `= + - @`, tab or CR) is removed from
    // every cell read; blank rows are judged before.
    let unguard = |cells: &[String]| -> Vec<String> {
        cells.iter().map(|c| zdbulk::output::guard::unguard(c).to_string()).collect()
    };
    let header = unguard(&header);
    let rows = records[start + 1..]
        .iter()
        .map(|(_, cells)| cells.clone())
        .filter(|cells| !cells.iter().all(|c| c.bytes().all(|b| b.is_ascii_whitespace())))
        .map(|cells| unguard(&cells))
        .collect();
    Some((header, rows))
}

/// Whether the header repeats a name (trimmed, ignoring case), which the reader refuses.
fn repeats_a_name(header: &[String]) -> bool {
    let mut seen = std::collections::HashSet::new();
    header.iter().map(|n| n.trim().to_lowercase()).any(|n| !n.is_empty() && !seen.insert(n))
}

/// Whether a file's first 4 KB hold a NUL byte and it has no byte-order mark: the reader
/// refuses it as binary (or as UTF-16 without a BOM).
pub(super) fn binary_head(bytes: &[u8]) -> bool {
    let boms: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];
    !boms.iter().any(|b| bytes.starts_with(b)) && bytes.iter().take(4096).any(|b| *b == 0)
}

/// Reads `bytes` as `data.csv` and holds the reader to the oracle.
fn check_csv(bytes: &[u8]) -> Result<ReadBack, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data.csv", bytes);
    let read = read_back(&path);
    let Ok(read) = read else {
        let message = read.unwrap_err();
        // The only ways a CSV in memory-sized bytes fails: no header, a repeated name, or a NUL
        // byte in its first 4 KB with no byte-order mark (binary data, or UTF-16 without a
        // BOM: git's rule for binary files).
        let refused_as_binary = message.contains("holds binary data")
            || message.contains("UTF-16 text without a byte-order mark");
        assert!(
            message.contains("is empty: expected a header row")
                || message.contains("appears twice in the header")
                || (refused_as_binary && binary_head(bytes)),
            "{message}"
        );
        return Err(message);
    };
    let InputFormat::Csv { delimiter, .. } = read.format else { panic!("{:?}", read.format) };
    let (header, rows) = csv_oracle(bytes, delimiter).expect("the reader found a header");
    assert!(!repeats_a_name(&header));
    assert_eq!(read.header, header, "header");
    let cells: Vec<Vec<String>> = read.rows.iter().map(|r| r.cells.clone()).collect();
    assert_eq!(cells, rows, "every data row once, in order, with its cells");
    Ok(read)
}

// ---------------------------------------------------------------------------------------------
// CSV: generators.

/// One piece of a hand-rolled, possibly malformed CSV file.
pub(super) fn csv_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _.-]{1,6}".prop_map(String::into_bytes),
        3 => prop::sample::select(vec![",", ";", "\t", "|"]).prop_map(|s| s.as_bytes().to_vec()),
        2 => Just(b"\"".to_vec()),
        2 => prop::sample::select(vec!["\n", "\r\n", "\r"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => prop::collection::vec(128u8.., 1..3),
        1 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => Just(b"\0".to_vec()),
        1 => Just(" \t ".as_bytes().to_vec()),
    ]
}

/// How a hand-rolled file is stored.
#[derive(Debug, Clone, Copy)]
enum Wrap {
    Raw,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

fn wrap(bytes: Vec<u8>, how: Wrap) -> Vec<u8> {
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    match how {
        Wrap::Raw => bytes,
        Wrap::Utf8Bom => [b"\xEF\xBB\xBF".to_vec(), bytes].concat(),
        Wrap::Utf16Le => {
            let units = text().encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>();
            [b"\xFF\xFE".to_vec(), units].concat()
        }
        Wrap::Utf16Be => {
            let units = text().encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<_>>();
            [b"\xFE\xFF".to_vec(), units].concat()
        }
    }
}

fn any_wrap() -> impl Strategy<Value = Wrap> {
    prop_oneof![4 => Just(Wrap::Raw), 1 => Just(Wrap::Utf8Bom), 1 => Just(Wrap::Utf16Le),
        1 => Just(Wrap::Utf16Be)]
}

proptest! {
    #![proptest_config(config(64))]

    /// Any bytes at all, named `.csv`: rows or a clear error, and the rows the oracle finds.
    #[test]
    fn fuzz_csv_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = check_csv(&bytes);
    }

    /// Hand-rolled CSV (stray quotes, every delimiter, mixed line breaks, BOMs in odd places,
    /// bytes that are not UTF-8), stored raw, with a UTF-8 BOM or as UTF-16.
    #[test]
    fn fuzz_csv_malformed_text(
        pieces in prop::collection::vec(csv_piece(), 0..200),
        how in any_wrap(),
    ) {
        let _ = check_csv(&wrap(pieces.concat(), how));
    }

    /// A CSV the csv crate writes, in any of the encodings the reader takes, reads back as
    /// the cells written, each data row once, numbered as a spreadsheet numbers it.
    #[test]
    fn fuzz_csv_round_trip(w in written(24, 8)) {
        round_trip(&w);
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// Very long cells (a megabyte, past the reader's encoding sniff and its UTF-16 chunks),
    /// in each encoding, and a row that is not UTF-8 after a first megabyte that is.
    #[test]
    fn fuzz_csv_huge_cells(
        w in written(4, 3),
        unit in prop::sample::select(vec!["a", "é", "😀", "\"", "x\r\ny", "€", ","]),
    ) {
        let mut w = w;
        let unit = w.fit(unit).replace(',', &(w.delimiter as char).to_string());
        let big = unit.repeat((1 << 20) / unit.len() + 1);
        w.rows.insert(0, (0, vec!["first".into(), big]));
        round_trip(&w);
    }

    /// Thousands of columns, and rows of all of them.
    #[test]
    fn fuzz_csv_many_columns(columns in 1000usize..3000, rows in 1usize..4, d in prop::sample::select(vec![',', ';', '\t', '|'])) {
        let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
        let mut text = header.join(&d.to_string()) + "\n";
        for r in 0..rows {
            let cells: Vec<String> = (0..columns).map(|i| format!("{r}-{i}")).collect();
            text += &(cells.join(&d.to_string()) + "\n");
        }
        let read = check_csv(text.as_bytes()).unwrap();
        prop_assert_eq!(read.header.len(), columns);
        prop_assert_eq!(read.rows.len(), rows);
    }
}

/// A first megabyte of UTF-8 then a row in Windows-1252: that row alone is decoded as
/// Windows-1252, with one warning naming it.
#[test]
fn fuzz_csv_late_windows_1252_row() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "a".repeat(1 << 20);
    let mut bytes = format!("name,notes\nAcme,{filler}\n").into_bytes();
    bytes.extend_from_slice(b"Caf\xE9,\x80\nBeta,\xC3\xA9\n");
    let path = write(dir.path(), "late.csv", &bytes);
    let read = read_back(&path).unwrap();
    let cells: Vec<_> = read.rows.iter().map(|r| r.cells.clone()).collect();
    assert_eq!(
        cells,
        [vec!["Acme".to_string(), filler], svec(&["Café", "€"]), svec(&["Beta", "é"])]
    );
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    assert!(read.warnings[0].starts_with("row 3 of "), "{:?}", read.warnings);
}
