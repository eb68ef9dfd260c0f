//! Property tests (proptest) of everything that reads what a user hands zdbulk: the CSV and
//! XLSX readers, the header mapping and `--map` files, the cell and row validators, and
//! definitions files. Whatever the input, nothing panics: a file reads as rows or fails with
//! an error that names it, and a cell or row is valid or says why. Where it is cheap the
//! properties say more: every data row comes out once, in order, with increasing row numbers,
//! and a CSV written by the csv crate reads back as the cells that were written.
//!
//! CI runs a short pass: a fixed seed and a few dozen cases a property (`config`). A longer
//! pass is `PROPTEST_CASES=20000 cargo test --test it fuzz` (docs/reliability.md); a new seed,
//! `PROPTEST_RNG_SEED=<number>`. Failures are not persisted to files: a case a property finds
//! is kept as a named regression test at the end of this module.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use zdbulk::cli::Resource;
use zdbulk::input::{
    map_header, open_input, InputError, InputFormat, ListSeparator, Renames, Row, TextEncoding,
};
use zdbulk::resource::{layer, Mode};
use zdbulk::schema::definitions::read_definitions;
use zdbulk::schema::row::{check_row, Column, EmptyCells, RowRules};
use zdbulk::schema::value::check_cell;
use zdbulk::schema::{FieldDef, FieldOption, FieldType, Schema};

/// The seed of CI's pass, so a red run is the same run on every machine.
const SEED: u64 = 0x7a64_6275_6c6b;

/// The configuration of every property: `cases` cases unless `PROPTEST_CASES` says otherwise,
/// the fixed seed unless `PROPTEST_RNG_SEED` gives one, no regression files.
fn config(cases: u32) -> Config {
    // `default()` reads the PROPTEST_* variables.
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_none() {
        config.max_shrink_time = 30_000;
    }
    config.failure_persistence = None;
    config
}

// ---------------------------------------------------------------------------------------------
// Reading a file back, with the invariants every read must keep.

/// What a readable file gave.
#[derive(Debug)]
struct ReadBack {
    header: Vec<String>,
    header_row: usize,
    format: InputFormat,
    rows: Vec<Row>,
    warnings: Vec<String>,
}

/// Reads `path` whole, twice (reusing one row's buffers, then through the iterator), and
/// checks what must hold of any file: the same rows both ways, row numbers past the header's
/// and increasing, a row whose cell count is not the header's says so, a row's problem names
/// its row, an error names the file.
fn read_back(path: &Path) -> Result<ReadBack, String> {
    let shown = path.display().to_string();
    let named = |e: InputError| {
        let message = e.to_string();
        assert!(message.contains(&shown), "the error does not name the file: {message}");
        message
    };
    let mut input = open_input(path, None).map_err(named)?;
    let header = input.header().clone();
    let format = input.format().clone();
    let mut rows = Vec::new();
    let mut row = Row::default();
    loop {
        match input.read_row(&mut row) {
            Ok(true) => rows.push(row.clone()),
            Ok(false) => break,
            Err(e) => return Err(named(e)),
        }
    }
    let warnings = input.warnings().to_vec();
    for warning in &warnings {
        assert!(warning.contains(&shown), "the warning does not name the file: {warning}");
    }
    let again: Result<Vec<Row>, _> = open_input(path, None).map_err(named)?.collect();
    assert_eq!(again.map_err(named)?, rows, "read_row and the iterator disagree");

    let mut last = header.row;
    assert!(last >= 1);
    for row in &rows {
        assert!(row.number > last, "row {} comes after row {last}", row.number);
        last = row.number;
        match &row.problem {
            None => assert_eq!(row.cells.len(), header.columns.len(), "{row:?}"),
            Some(problem) => {
                assert!(problem.contains(&format!("row {}", row.number)), "{problem}")
            }
        }
    }
    Ok(ReadBack { header: header.names(), header_row: header.row, format, rows, warnings })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

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
    let rows = records[start + 1..]
        .iter()
        .map(|(_, cells)| cells.clone())
        .filter(|cells| !cells.iter().all(|c| c.bytes().all(|b| b.is_ascii_whitespace())))
        .collect();
    Some((header, rows))
}

/// Whether the header repeats a name (trimmed, ignoring case), which the reader refuses.
fn repeats_a_name(header: &[String]) -> bool {
    let mut seen = std::collections::HashSet::new();
    header.iter().map(|n| n.trim().to_lowercase()).any(|n| !n.is_empty() && !seen.insert(n))
}

/// Reads `bytes` as `data.csv` and holds the reader to the oracle.
fn check_csv(bytes: &[u8]) -> Result<ReadBack, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data.csv", bytes);
    let read = read_back(&path);
    let Ok(read) = read else {
        let message = read.unwrap_err();
        // The only ways a CSV in memory-sized bytes fails: no header, or a repeated name.
        assert!(
            message.contains("is empty: expected a header row")
                || message.contains("appears twice in the header"),
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
fn csv_piece() -> impl Strategy<Value = Vec<u8>> {
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

/// The text of one generated cell: letters, quotes, line breaks, spaces, non-ASCII, the
/// file's own delimiter; never another of the four delimiters (which could rightly make the
/// sniffer pick that one instead).
fn cell(delimiter: char) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => "[a-zA-Z0-9]{1,4}",
        2 => Just(delimiter.to_string()),
        2 => Just("\"".to_string()),
        1 => prop::sample::select(vec!["\n", "\r\n", "\r"]).prop_map(str::to_string),
        2 => Just(" ".to_string()),
        1 => prop::sample::select(vec!["é", "😀", "\u{a0}", "\0", "€", "ÿ", "\u{feff}", "ß"])
            .prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..5).prop_map(move |pieces| {
        pieces.concat().chars().filter(|c| *c == delimiter || !",;\t|".contains(*c)).collect()
    })
}

/// Stored encodings of a generated file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stored {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

/// Characters Windows-1252 has whose bytes cannot start a UTF-8 sequence, so a file of them is
/// never valid UTF-8 by accident (the reader's documented limit: such a file reads as UTF-8).
const CP1252_SAFE: &str = "€£©°±µ¶·¿ÿ";

fn encode(text: &str, stored: Stored) -> Vec<u8> {
    match stored {
        Stored::Utf8 => text.as_bytes().to_vec(),
        Stored::Utf8Bom => [b"\xEF\xBB\xBF", text.as_bytes()].concat(),
        Stored::Utf16Le => {
            [b"\xFF\xFE".to_vec(), text.encode_utf16().flat_map(u16::to_le_bytes).collect()]
                .concat()
        }
        Stored::Utf16Be => {
            [b"\xFE\xFF".to_vec(), text.encode_utf16().flat_map(u16::to_be_bytes).collect()]
                .concat()
        }
        Stored::Windows1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            assert!(!unmappable, "{text:?}");
            bytes.into_owned()
        }
    }
}

/// A file the csv crate writes: header, rows (ragged or not) and blank lines, with its
/// expected reading.
#[derive(Debug, Clone)]
struct Written {
    delimiter: u8,
    terminator: &'static str,
    stored: Stored,
    /// Blank lines before the header.
    leading: usize,
    header: Vec<String>,
    /// Each row and the blank lines before it.
    rows: Vec<(usize, Vec<String>)>,
    /// Drop the last line break.
    no_final_break: bool,
}

impl Written {
    fn cp1252(&self) -> bool {
        self.stored == Stored::Windows1252
    }

    /// A character Windows-1252 cannot encode becomes `?` in a file stored in it.
    fn fit(&self, text: &str) -> String {
        if !self.cp1252() {
            return text.to_string();
        }
        text.chars()
            .map(|c| if c.is_ascii() || CP1252_SAFE.contains(c) { c } else { '?' })
            .collect()
    }

    fn fitted(mut self) -> Written {
        self.header = self.header.iter().map(|h| self.fit(h)).collect();
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|(b, cells)| (*b, cells.iter().map(|c| self.fit(c)).collect()))
            .collect();
        self.rows = rows;
        self
    }

    fn text(&self) -> String {
        let terminator = match self.terminator {
            "\r\n" => csv::Terminator::CRLF,
            t => csv::Terminator::Any(t.as_bytes()[0]),
        };
        let record = |cells: &[String]| {
            let mut writer = csv::WriterBuilder::new()
                .delimiter(self.delimiter)
                .terminator(terminator)
                .from_writer(Vec::new());
            writer.write_record(cells).unwrap();
            String::from_utf8(writer.into_inner().unwrap()).unwrap()
        };
        let mut text = self.terminator.repeat(self.leading);
        text += &record(&self.header);
        for (blanks, cells) in &self.rows {
            text += &self.terminator.repeat(*blanks);
            text += &record(cells);
        }
        if self.no_final_break {
            text.truncate(text.len() - self.terminator.len());
        }
        text
    }

    /// (spreadsheet row, cells) of every row the reader must return.
    fn expected(&self) -> Vec<(usize, Vec<String>)> {
        let mut number = 1 + self.leading;
        let mut out = Vec::new();
        for (blanks, cells) in &self.rows {
            number += 1 + blanks;
            if !cells.iter().all(|c| c.bytes().all(|b| b.is_ascii_whitespace())) {
                out.push((number, cells.clone()));
            }
        }
        out
    }
}

fn written(max_rows: usize, max_columns: usize) -> impl Strategy<Value = Written> {
    let shape = (
        prop::sample::select(vec![b',', b';', b'\t', b'|']),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
        prop_oneof![
            3 => Just(Stored::Utf8),
            1 => Just(Stored::Utf8Bom),
            1 => Just(Stored::Utf16Le),
            1 => Just(Stored::Utf16Be),
            2 => Just(Stored::Windows1252),
        ],
        2..=max_columns,
    );
    shape.prop_flat_map(move |(delimiter, terminator, stored, columns)| {
        let d = delimiter as char;
        // Header names are unique by their leading number, and never blank.
        let header = prop::collection::vec(cell(d), columns)
            .prop_map(|names| names.iter().enumerate().map(|(i, n)| format!("{i}:{n}")).collect());
        let row = (
            prop_oneof![4 => Just(0usize), 1 => 1usize..3],
            prop_oneof![
                6 => prop::collection::vec(cell(d), columns),
                1 => prop::collection::vec(cell(d), 0..columns + 3),
            ],
        );
        (0usize..3, header, prop::collection::vec(row, 0..max_rows), any::<bool>()).prop_map(
            move |(leading, header, rows, no_final_break)| {
                Written { delimiter, terminator, stored, leading, header, rows, no_final_break }
                    .fitted()
            },
        )
    })
}

/// Writes `w`, reads it back, and checks it reads as written.
fn round_trip(w: &Written) {
    let text = w.text();
    let bytes = encode(&text, w.stored);
    let read = check_csv(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let encoding = match w.stored {
        Stored::Utf8 => TextEncoding::Utf8,
        Stored::Utf8Bom => TextEncoding::Utf8Bom,
        Stored::Utf16Le => TextEncoding::Utf16Le,
        Stored::Utf16Be => TextEncoding::Utf16Be,
        // A first megabyte of ASCII is UTF-8: later rows that are not read as Windows-1252.
        Stored::Windows1252 if bytes[..bytes.len().min(1 << 20)].is_ascii() => TextEncoding::Utf8,
        Stored::Windows1252 => TextEncoding::Windows1252,
    };
    assert_eq!(read.format, InputFormat::Csv { delimiter: w.delimiter, encoding });
    assert_eq!(read.header, w.header);
    assert_eq!(read.header_row, 1 + w.leading);
    let got: Vec<(usize, Vec<String>)> =
        read.rows.iter().map(|r| (r.number, r.cells.clone())).collect();
    assert_eq!(got, w.expected());
    for row in &read.rows {
        assert_eq!(row.problem.is_some(), row.cells.len() != w.header.len(), "{row:?}");
    }
    assert_eq!(read.warnings.len(), usize::from(!bytes.is_ascii() && w.cp1252()));
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

fn svec(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// XLSX.

// Hand-made workbooks: `handmade_workbook`, `handmade_xlsx`, `text_cell`.
include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/xlsx_zip.rs"));

/// The smallest workbook reads: the generated ones below start from the same parts.
#[test]
fn fuzz_xlsx_handmade_baseline() {
    let sheet = format!(
        r#"<row r="1">{}</row><row r="2">{}</row>"#,
        text_cell("A1", "name"),
        text_cell("A2", "Acme")
    );
    let read = check_xlsx(&handmade_xlsx(&sheet)).unwrap();
    assert_eq!((read.header, read.rows[0].cells.clone()), (svec(&["name"]), svec(&["Acme"])));
}

fn check_xlsx(bytes: &[u8]) -> Result<ReadBack, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "book.xlsx", bytes);
    read_back(&path)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A cell reference: usually right, sometimes far out, sometimes nonsense.
fn cell_ref() -> impl Strategy<Value = Option<String>> {
    let letters = |mut c: u32| {
        let mut s = String::new();
        c += 1;
        while c > 0 {
            s.insert(0, (b'A' + ((c - 1) % 26) as u8) as char);
            c = (c - 1) / 26;
        }
        s
    };
    prop_oneof![
        6 => (0u32..12, 1u32..12).prop_map(move |(c, r)| Some(format!("{}{r}", letters(c)))),
        1 => (0u32..16384, 1u32..=1_048_576).prop_map(move |(c, r)| Some(format!("{}{r}", letters(c)))),
        1 => Just(None),
        1 => prop::sample::select(vec!["1A", "A0", "ZZZZ1", "A99999999999", "", "a1", "A-1"])
            .prop_map(|s| Some(s.to_string())),
    ]
}

/// The text inside `<v>`: numbers of every kind, dates, error codes, booleans, indexes, text.
fn cell_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (0u32..3000000).prop_map(|i| format!("{}", f64::from(i) / 7.0)),
        prop::sample::select(vec![
            "0",
            "1",
            "2",
            "-1",
            "45000.5",
            "1e308",
            "-1e308",
            "9007199254740993",
            "NaN",
            "inf",
            "-0",
            "2958466",
            "-700000",
            "0.9999999",
            "true",
            "TRUE",
            "#DIV/0!",
            "#N/A",
            "#NAME?",
            "#NULL!",
            "#NUM!",
            "#REF!",
            "#VALUE!",
            "#GETTING_DATA",
            "#BOGUS",
            "2024-01-15T10:00:00",
            "2024-13-45",
            "PT1H",
            "",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,12}".prop_map(|s| xml_escape(&s)),
        // Unescaped markup: the XML itself is broken.
        prop::sample::select(vec!["<", "&", "&bogus;", "]]>", "<v>"]).prop_map(str::to_string),
    ]
}

fn xlsx_cell() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        None,
        Some("s"),
        Some("str"),
        Some("inlineStr"),
        Some("b"),
        Some("e"),
        Some("n"),
        Some("d"),
        Some("bogus"),
    ]);
    let formula = prop_oneof![
        4 => Just(None),
        1 => prop::sample::select(vec!["A1+1", "1/0", "SUM(A1:A3)", "", "B2&\"-1\""])
            .prop_map(Some),
    ];
    (cell_ref(), kind, 0u32..6, formula, prop::option::of(cell_value())).prop_map(
        |(at, kind, style, formula, value)| {
            let mut c = String::from("<c");
            if let Some(at) = at {
                c += &format!(r#" r="{at}""#);
            }
            if let Some(kind) = kind {
                c += &format!(r#" t="{kind}""#);
            }
            if style > 0 {
                c += &format!(r#" s="{style}""#);
            }
            c += ">";
            if let Some(f) = formula {
                c += &format!("<f>{}</f>", xml_escape(f));
            }
            match (kind, value) {
                (Some("inlineStr"), Some(v)) => c += &format!("<is><t>{v}</t></is>"),
                (_, Some(v)) => c += &format!("<v>{v}</v>"),
                (_, None) => {}
            }
            c + "</c>"
        },
    )
}

fn xlsx_row() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        6 => (1u32..14).prop_map(Some),
        1 => Just(None),
        1 => prop::sample::select(vec![0u32, 1_048_576, 4_000_000_000]).prop_map(Some),
    ];
    (number, prop::collection::vec(xlsx_cell(), 0..6)).prop_map(|(number, cells)| {
        let r = number.map(|n| format!(r#" r="{n}""#)).unwrap_or_default();
        format!("<row{r}>{}</row>", cells.concat())
    })
}

/// A workbook with a generated sheet, maybe shared strings, maybe styles (dates, times,
/// durations), maybe the 1904 date system.
fn workbook() -> impl Strategy<Value = Vec<u8>> {
    let header = prop::collection::vec("[a-z_]{1,8}", 1..5).prop_map(|names| {
        let cells: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| text_cell(&format!("{}1", (b'A' + i as u8) as char), n))
            .collect();
        format!(r#"<row r="1">{cells}</row>"#)
    });
    let shared = prop::option::of(prop::collection::vec("[ -~]{0,8}", 0..4));
    (
        prop::option::of(header),
        prop::collection::vec(xlsx_row(), 0..10),
        shared,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(header, rows, shared, styles, date1904)| {
            let sheet = header.unwrap_or_default() + &rows.concat();
            let mut extra = Vec::new();
            if let Some(strings) = shared {
                let items: String =
                    strings.iter().map(|s| format!("<si><t>{}</t></si>", xml_escape(s))).collect();
                extra.push((
                    "xl/sharedStrings.xml",
                    format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">{items}</sst>"#,
                        n = strings.len()
                    ),
                ));
            }
            if styles {
                extra.push((
                    "xl/styles.xml",
                    r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts><cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/><xf numFmtId="46" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs></styleSheet>"#
                        .to_string(),
                ));
            }
            let pr = if date1904 { r#"<workbookPr date1904="1"/>"# } else { "" };
            handmade_workbook(&sheet, pr, extra)
        })
}

proptest! {
    #![proptest_config(config(64))]

    /// Any bytes named `.xlsx` (and bytes that start like a ZIP archive): a clear error.
    #[test]
    fn fuzz_xlsx_arbitrary_bytes(
        zip_magic in any::<bool>(),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let bytes = if zip_magic { [b"PK\x03\x04".to_vec(), bytes].concat() } else { bytes };
        let _ = check_xlsx(&bytes);
    }

    /// Generated sheets: every cell type, odd references, missing shared strings, styles
    /// that make numbers dates, formulas with and without values, broken XML.
    #[test]
    fn fuzz_xlsx_generated_sheets(book in workbook()) {
        let _ = check_xlsx(&book);
    }

    /// A good workbook with a few bytes changed or its end cut off.
    #[test]
    fn fuzz_xlsx_damaged(
        book in workbook(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut book = book;
        for (at, byte) in flips {
            let i = at.index(book.len());
            book[i] = byte;
        }
        if let Some(cut) = cut {
            book.truncate(cut.index(book.len()));
        }
        let _ = check_xlsx(&book);
    }
}

// ---------------------------------------------------------------------------------------------
// Header mapping and --map files.

const RESOURCES: [Resource; 5] = [
    Resource::Organizations,
    Resource::Users,
    Resource::OrganizationFields,
    Resource::UserFields,
    Resource::Memberships,
];

/// The API names of organizations and users files (the ones any one file may use together).
const ORGANIZATION_NAMES: &[&str] = &[
    "name",
    "external_id",
    "domain_names",
    "tags",
    "details",
    "notes",
    "group_id",
    "shared_tickets",
    "shared_comments",
    "id",
];
const USER_NAMES: &[&str] = &[
    "name",
    "email",
    "external_id",
    "role",
    "phone",
    "organization",
    "organization_id",
    "tags",
    "details",
    "notes",
    "time_zone",
    "locale",
    "verified",
    "skip_verify_email",
    "id",
    "custom_role_id",
    "ticket_restriction",
    "shared_phone_number",
    "organizations",
];

/// A header name: known ones of every resource and dialect, custom-field prefixes with keys
/// (empty, spaced, unicode), ignored and unsupported columns, blanks, junk.
fn header_name() -> impl Strategy<Value = String> {
    let mut known: Vec<&'static str> = ORGANIZATION_NAMES.to_vec();
    known.extend(USER_NAMES);
    known.extend([
        "default",
        "shared",
        "group",
        "restriction",
        "emails",
        "phones",
        "shared_phone",
        "zdbulk_error",
        "brand",
        "custom_role",
        "suspended",
        "key",
        "title",
        "type",
        "options",
        "External ID",
        "e-mail",
        "nmae",
    ]);
    let prefix = prop::sample::select(vec![
        "organization_fields.",
        "custom_fields.",
        "user_fields.",
        "ORGANIZATION_FIELDS.",
        "organisation_fields.",
        "user_field.",
        ".",
    ]);
    let key = prop_oneof!["[a-zA-Z0-9_]{0,8}", "[ -~]{0,8}", any::<String>()];
    let name = prop_oneof![
        5 => prop::sample::select(known).prop_map(str::to_string),
        3 => (prefix, key).prop_map(|(p, k)| format!("{p}{k}")),
        1 => Just(String::new()),
        2 => any::<String>(),
        1 => "[a-z_. -]{1,16}",
    ];
    // Any case, spaces around.
    (name, any::<bool>(), " {0,2}", " {0,2}").prop_map(|(n, upper, a, b)| {
        let n = if upper { n.to_uppercase() } else { n };
        format!("{a}{n}{b}")
    })
}

fn renames() -> impl Strategy<Value = Option<Vec<(String, String)>>> {
    prop::option::of(prop::collection::vec((header_name(), header_name()), 0..4))
}

/// A header of API names of `resource`, each once, with custom fields: maps to those names.
fn api_header() -> impl Strategy<Value = (Resource, Vec<String>, Vec<String>)> {
    prop::sample::select(vec![Resource::Organizations, Resource::Users]).prop_flat_map(|r| {
        let (names, prefix) = match r {
            Resource::Organizations => (ORGANIZATION_NAMES, "organization_fields."),
            _ => (USER_NAMES, "user_fields."),
        };
        // `organization` and `organizations` are both API columns of users; any subset works.
        let picked = prop::sample::subsequence(names.to_vec(), 0..=names.len()).prop_shuffle();
        let keys = prop::collection::btree_set("[a-zA-Z][a-zA-Z0-9_]{0,8}", 0..4);
        (picked, keys, any::<u64>()).prop_map(move |(picked, keys, case)| {
            let canonical: Vec<String> = picked
                .iter()
                .map(|n| n.to_string())
                .chain(keys.iter().map(|k| format!("{prefix}{k}")))
                .collect();
            // Each name in a case and with spaces a bit at random (the bits of `case`).
            let raw = canonical
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let bits = case >> (i % 32 * 2);
                    let (head, key) = n.split_at(n.find('.').map_or(n.len(), |d| d + 1));
                    let head = if bits & 1 == 1 { head.to_uppercase() } else { head.to_string() };
                    let pad = if bits & 2 == 2 { " " } else { "" };
                    format!("{pad}{head}{key}{pad}")
                })
                .collect();
            (r, raw, canonical)
        })
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Any header, with or without renames, for every resource: mapped or a clear error, and
    /// a mapping keeps what it promises (one entry a column, each API name once).
    #[test]
    fn fuzz_map_header(
        raw in prop::collection::vec(header_name(), 0..10),
        pairs in renames(),
    ) {
        let renames = pairs.and_then(|p| Renames::new(p).ok());
        for resource in RESOURCES {
            match map_header(resource, &raw, renames.as_ref()) {
                Ok(mapped) => {
                    prop_assert_eq!(mapped.columns.len(), raw.len());
                    let mut seen = std::collections::HashSet::new();
                    for (i, column) in mapped.columns.iter().enumerate() {
                        let Some(column) = column else { continue };
                        prop_assert_eq!(column.index, i);
                        prop_assert_eq!(&column.raw, &raw[i]);
                        prop_assert!(!column.canonical.is_empty());
                        prop_assert!(seen.insert(column.canonical.clone()), "{} twice", column.canonical);
                    }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    /// A header of distinct API names maps, each to its own name.
    #[test]
    fn fuzz_map_header_api_names((resource, raw, canonical) in api_header()) {
        let mapped = map_header(resource, &raw, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<String> = mapped.columns.iter().flatten().map(|c| c.canonical.clone()).collect();
        prop_assert_eq!(got, canonical);
    }

    /// Any bytes as a `--map` file: renames or an error that names the file.
    #[test]
    fn fuzz_map_file_arbitrary(bytes in prop::collection::vec(any::<u8>(), 0..512), pieces in prop::collection::vec(csv_piece(), 0..60), generated in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "map.csv", &if generated { pieces.concat() } else { bytes });
        if let Err(e) = Renames::from_path(&path) {
            let message = e.to_string();
            prop_assert!(message.contains(&path.display().to_string()), "{}", message);
        }
    }

    /// A `--map` file of distinct renames, with or without its `from,to` header, reads as
    /// those renames.
    #[test]
    fn fuzz_map_file_written(
        pairs in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9 ._\"-]{0,10}", "[a-zA-Z0-9 ._\"-]{0,10}"), 1..8),
        with_header in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(from, _)| seen.insert(from.trim().to_lowercase())).collect();
        let mut writer = csv::WriterBuilder::new()
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        if with_header {
            writer.write_record(["from", "to"]).unwrap();
        }
        for (from, to) in &pairs {
            writer.write_record([from, to]).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "map.csv", &writer.into_inner().unwrap());
        let renames = Renames::from_path(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert_eq!(renames.len(), pairs.len());
        for (from, to) in &pairs {
            prop_assert_eq!(renames.get(&from.to_uppercase()), Some(to.trim()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cells, rows and definitions.

const FIELD_TYPES: [FieldType; 10] = [
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Checkbox,
    FieldType::Date,
    FieldType::Integer,
    FieldType::Decimal,
    FieldType::Regexp,
    FieldType::Dropdown,
    FieldType::Multiselect,
    FieldType::Lookup,
];

/// Text that looks like each type's values, and text that nearly does.
fn raw_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[ -~]{0,16}",
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<u64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        2 => (any::<i32>(), 0u32..15, 0u32..35, prop::sample::select(vec!["-", "/"]))
            .prop_map(|(y, m, d, s)| format!("{y:04}{s}{m:02}{s}{d:02}")),
        1 => "[0-9+-]{1,6}[-/][0-9]{1,2}[-/][0-9]{1,3}([T ][0-9:Z]{0,9})?",
        2 => prop::sample::select(vec![
            "", " ", "true", "FALSE", "yes", "No", "1", "0", "2", "maybe", "NaN", "inf",
            "-inf", "1e999", "-0", "+5", "0x10", "١٢٣", "2024-02-29", "2023-02-29",
            "2024-02-29T25:00", "99999-01-01", "+002024-01-01", "0000-01-01", "-001-01-01",
            "free", "Pro", "free|pro, enterprise", "free||pro", ",", "|", "free gold",
            "ABC-1234", "abc-1234", " ABC-1234 ", "18446744073709551616", "-1",
        ])
        .prop_map(str::to_string),
        1 => ("[ \t\u{a0}\u{2003}]{0,2}", "[a-z0-9]{0,5}", "[ \t\u{a0}\u{2003}]{0,2}")
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

fn options() -> impl Strategy<Value = Vec<FieldOption>> {
    prop::collection::vec(
        ("[ -~]{0,8}", "[a-z0-9_]{1,8}").prop_map(|(name, value)| FieldOption { name, value }),
        0..5,
    )
    .prop_map(|mut opts| {
        opts.extend(
            ["free", "pro", "enterprise"]
                .map(|v| FieldOption { name: v.to_uppercase(), value: v.to_string() }),
        );
        opts
    })
}

fn pattern() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        3 => prop::sample::select(vec![
            "\\A[A-Z]{3}-[0-9]{4}\\z", "^\\d+$", "\\A\\w+\\Z", ".*", "", "[", "(", "\\",
            "a{2,1}", "(?P<x>a)(?P<x>b)", "\\p{Greek}+", "a{1000}{1000}",
        ])
        .prop_map(str::to_string),
        1 => "[ -~]{0,10}",
    ])
}

fn separator() -> impl Strategy<Value = ListSeparator> {
    prop::sample::select(vec![
        ListSeparator::Any,
        ListSeparator::Pipes,
        ListSeparator::Commas,
        ListSeparator::Spaces,
    ])
}

proptest! {
    #![proptest_config(config(512))]

    /// Any cell against every field type: the value the API expects, or a reason that names
    /// the value.
    #[test]
    fn fuzz_check_cell(
        raw in raw_cell(),
        options in options(),
        pattern in pattern(),
        active in prop::bool::weighted(0.9),
        separator in separator(),
    ) {
        for field_type in FIELD_TYPES {
            let Ok(def) = FieldDef::build(
                "k".into(), "K".into(), field_type, active, pattern.clone(), None, options.clone(),
            ) else {
                continue;
            };
            let trimmed = raw.trim();
            match check_cell(&def, &raw, separator) {
                Ok(checked) => {
                    prop_assert!(active);
                    let value = checked.into_json(&def);
                    let tags: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
                    match field_type {
                        FieldType::Text | FieldType::Textarea => prop_assert_eq!(value, raw.as_str()),
                        FieldType::Checkbox => prop_assert!(value.is_boolean()),
                        FieldType::Integer => {
                            prop_assert_eq!(value.as_i64(), Some(trimmed.parse::<i64>().unwrap()))
                        }
                        FieldType::Decimal => prop_assert!(value.as_f64().is_some_and(f64::is_finite)),
                        FieldType::Lookup => prop_assert!(value.as_u64().is_some_and(|id| id > 0)),
                        FieldType::Regexp => prop_assert_eq!(value, trimmed),
                        FieldType::Date => {
                            // The API's date: YYYY-MM-DD, which reads back as itself.
                            let text = value.as_str().unwrap().to_string();
                            prop_assert!(
                                text.len() == 10 && text.chars().enumerate().all(|(i, c)| {
                                    if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }
                                }),
                                "{:?} became the date {:?}", raw, text
                            );
                        }
                        FieldType::Dropdown => prop_assert!(tags.contains(&value.as_str().unwrap())),
                        FieldType::Multiselect => {
                            let list: Vec<&str> =
                                value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                            prop_assert!(list.iter().all(|t| tags.contains(t)));
                            let unique: std::collections::HashSet<_> = list.iter().collect();
                            prop_assert_eq!(unique.len(), list.len());
                        }
                    }
                }
                Err(reason) => {
                    prop_assert!(!reason.is_empty());
                    if !active {
                        prop_assert!(reason.contains("inactive"));
                    } else if field_type != FieldType::Multiselect {
                        prop_assert!(reason.contains(&format!("'{trimmed}'")), "{}", reason);
                    }
                }
            }
        }
    }

    /// Any row of any columns: checking it to validate and checking it to import agree on
    /// whether it is valid, and on every reason.
    #[test]
    fn fuzz_check_row(
        users in any::<bool>(),
        names in prop::collection::vec(header_name(), 0..8),
        cells in prop::collection::vec(raw_cell(), 8),
        mode in prop::sample::select(vec![Mode::Upsert, Mode::Create, Mode::Update, Mode::Delete]),
        clear in any::<bool>(),
        separator in separator(),
        options in options(),
    ) {
        let resource = if users { Resource::Users } else { Resource::Organizations };
        let layer = layer(resource);
        let defs = FIELD_TYPES.iter().enumerate().map(|(i, t)| {
            FieldDef::build(format!("f{i}"), format!("F{i}"), *t, true, None, None, options.clone())
                .unwrap()
        });
        let schema = Schema::new(defs);
        // Mapped names are trimmed and lowercase, and custom fields often exist.
        let names: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| match i % 3 {
                0 => format!("{}.f{}", layer.fields_key(), i % FIELD_TYPES.len()),
                _ => n.trim().to_lowercase(),
            })
            .collect();
        let columns: Vec<Column> =
            names.iter().map(|n| Column::resolve(layer, n, separator, &schema)).collect();
        let empty = if clear { EmptyCells::Clear } else { EmptyCells::Keep };
        let check = |build| {
            let rules = RowRules { layer, mode, empty, build };
            check_row(columns.iter().zip(cells.iter().map(String::as_str)), rules)
        };
        let (validated, imported) = (check(false), check(true));
        match (&validated, &imported) {
            (Ok(_), Ok(_)) => {}
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "validate says {:?}, import says {:?}", validated, imported),
        }
    }
}

/// A definitions-file cell: types, booleans, patterns and options cells, good and bad.
fn definition_cell(column: &'static str) -> BoxedStrategy<String> {
    match column {
        "type" => prop_oneof![
            4 => prop::sample::select(FIELD_TYPES.map(FieldType::as_str).to_vec()).prop_map(str::to_string),
            1 => prop::sample::select(vec!["", "tagger", "TEXT", "colour", " date "]).prop_map(str::to_string),
        ]
        .boxed(),
        "active" => prop::sample::select(vec!["", "true", "no", "1", "maybe"]).prop_map(str::to_string).boxed(),
        "regexp_for_validation" => pattern().prop_map(Option::unwrap_or_default).boxed(),
        "options" => prop_oneof![
            "([A-Za-z ]{0,5}=)?[a-z_]{1,5}(; ?([A-Za-z ]{0,5}=)?[a-z_]{1,5}){0,3}",
            "[=; a-z]{0,10}",
            any::<String>(),
        ]
        .boxed(),
        "key" => prop_oneof![4 => "[a-z_]{1,6}", 1 => Just(String::new()), 1 => any::<String>()].boxed(),
        _ => "[ -~]{0,10}".boxed(),
    }
}

fn definitions_file() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    let columns = vec![
        "key",
        "title",
        "type",
        "description",
        "position",
        "active",
        "regexp_for_validation",
        "tag",
        "options",
    ];
    prop::sample::subsequence(columns, 0..=9).prop_shuffle().prop_flat_map(|columns| {
        let row: Vec<BoxedStrategy<String>> = columns.iter().map(|c| definition_cell(c)).collect();
        let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        (Just(header), prop::collection::vec(row, 0..8))
    })
}

proptest! {
    #![proptest_config(config(128))]

    /// Any definitions file: a schema of its fields, or an error that names the file.
    #[test]
    fn fuzz_read_definitions((header, rows) in definitions_file(), junk in prop::collection::vec(any::<u8>(), 0..256), use_junk in prop::bool::weighted(0.2)) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = if use_junk {
            junk
        } else {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(&header).unwrap();
            for row in &rows {
                writer.write_record(row).unwrap();
            }
            writer.into_inner().unwrap()
        };
        let path = write(dir.path(), "fields.csv", &bytes);
        match read_definitions(&path) {
            Ok(schema) => {
                if !use_junk {
                    // Every row is a field: none is dropped or silently replaced. (Rows of
                    // nothing but spaces are blank rows, skipped.)
                    let fields = rows
                        .iter()
                        .filter(|r| !r.iter().all(|c| c.bytes().all(|b| b.is_ascii_whitespace())))
                        .count();
                    prop_assert_eq!(schema.len(), fields, "a row is not a field of its own");
                }
            }
            Err(e) => {
                let message = format!("{e:#}");
                prop_assert!(message.contains(&path.display().to_string()), "{}", message);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cases the properties found, kept as plain tests.

/// A shared-string index past the table made calamine index out of bounds (a panic in the
/// reader); it is now an error naming the file.
#[test]
fn fuzz_found_a_shared_string_index_past_the_table() {
    let sheet =
        format!(r#"<row r="1">{}<c r="B1" t="s"><v>7</v></c></row>"#, text_cell("A1", "name"));
    let message = check_xlsx(&handmade_xlsx(&sheet)).unwrap_err();
    assert!(message.contains("book.xlsx: the workbook is damaged"), "{message}");
}

/// A cell reference whose row overflows a u32 panicked in calamine (overflow checks on); now
/// an error naming the file, like any damaged workbook.
#[test]
fn fuzz_found_a_cell_reference_past_u32() {
    let sheet =
        format!(r#"<row r="1">{}<c r="A99999999999"><v>1</v></c></row>"#, text_cell("A1", "name"));
    if let Err(message) = check_xlsx(&handmade_xlsx(&sheet)) {
        assert!(message.contains("book.xlsx"), "{message}");
    }
}

/// Two cells at opposite corners of a sheet made calamine allocate all 17 billion cells
/// between them and abort the process; such a sheet is refused, naming the corners.
#[test]
fn fuzz_found_cells_at_opposite_corners() {
    let sheet = format!(
        r#"<row r="1">{}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
        text_cell("A1", "name")
    );
    let message = check_xlsx(&handmade_xlsx(&sheet)).unwrap_err();
    assert!(message.contains("has cells from A1 to XFD1048576"), "{message}");
    // An uncomputed formula far away counts the same.
    let sheet = format!(
        r#"<row r="1">{}</row><row r="900000"><c r="ZZ900000"><f>A1</f></c></row>"#,
        text_cell("A1", "name")
    );
    let message = check_xlsx(&handmade_xlsx(&sheet)).unwrap_err();
    assert!(message.contains("has cells from A1 to ZZ900000"), "{message}");
}

/// chrono reads `-001-01-01` (and five-digit years) as dates, which the API's `YYYY-MM-DD`
/// cannot hold: they are refused as dates.
#[test]
fn fuzz_found_dates_outside_years_1_to_9999() {
    let def =
        FieldDef::build("d".into(), "D".into(), FieldType::Date, true, None, None, vec![]).unwrap();
    for raw in ["-001-01-01", "20240-01-01", "+20240-01-01", "0000-01-01"] {
        let reason = check_cell(&def, raw, ListSeparator::Any).unwrap_err();
        assert!(reason.contains("is not a date"), "{raw}: {reason}");
    }
    assert!(check_cell(&def, "0001-01-01", ListSeparator::Any).is_ok());
    assert!(check_cell(&def, "9999-12-31T10:00", ListSeparator::Any).is_ok());
}

/// Two rows of a definitions file with the same key made one field silently replace the other;
/// the second is refused, naming both rows.
#[test]
fn fuzz_found_a_definitions_key_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "fields.csv", b"key,type\n_,text\nother,date\n_ ,integer\n");
    let message = format!("{:#}", read_definitions(&path).unwrap_err());
    assert!(
        message.ends_with("fields.csv, row 4, key: field '_' is already defined in row 2"),
        "{message}"
    );
}
