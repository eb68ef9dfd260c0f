//! CSV files the csv crate writes (`Written`): header, rows and blank lines, in every
//! encoding the reader takes, with the reading each must give, and the round trip that checks it.

use proptest::prelude::*;
use zdbulk::output::guard::guard;

use zdbulk::input::{InputFormat, TextEncoding};

use super::check_csv;

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
pub(super) struct Written {
    pub(super) delimiter: u8,
    terminator: &'static str,
    stored: Stored,
    /// Blank lines before the header.
    leading: usize,
    header: Vec<String>,
    /// Each row and the blank lines before it.
    pub(super) rows: Vec<(usize, Vec<String>)>,
    /// Drop the last line break.
    no_final_break: bool,
}

impl Written {
    fn cp1252(&self) -> bool {
        self.stored == Stored::Windows1252
    }

    /// A character Windows-1252 cannot encode becomes `?` in a file stored in it.
    pub(super) fn fit(&self, text: &str) -> String {
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

    /// The file's text, every cell guarded as zdbulk's writers guard them.
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
            // As zdbulk writes every CSV: the formula-injection guard on each cell, which the
            // reader removes again.
            writer.write_record(cells.iter().map(|c| guard(c).into_owned())).unwrap();
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
            // A row is blank as written (guarded), not as given.
            if !cells.iter().all(|c| guard(c).bytes().all(|b| b.is_ascii_whitespace())) {
                out.push((number, cells.clone()));
            }
        }
        out
    }
}

pub(super) fn written(max_rows: usize, max_columns: usize) -> impl Strategy<Value = Written> {
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
pub(super) fn round_trip(w: &Written) {
    let text = w.text();
    let bytes = encode(&text, w.stored);
    if super::binary_head(&bytes) {
        // A NUL byte near the start reads as binary data: refused, never misread.
        assert!(check_csv(&bytes).is_err());
        return;
    }
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
