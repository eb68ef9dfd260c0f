//! Property tests of the XLSX reader: arbitrary bytes, generated workbooks (every cell type,
//! odd references, styles, broken XML) and damaged ones.

use proptest::prelude::*;

use super::{config, read_back, svec, write, ReadBack};

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
