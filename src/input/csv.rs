//! The CSV reader: encoding and delimiter sniffing, then one record at a time.
//!
//! Encodings: UTF-8 with or without a BOM, UTF-16 LE/BE with a BOM (transcoded as it streams),
//! and Windows-1252 when the first megabyte is not UTF-8 (with a warning). A BOM-less file whose
//! first megabyte is UTF-8 is read as UTF-8; a later record that is not valid UTF-8 is read as
//! Windows-1252 — that record alone, since valid UTF-8 is almost never Windows-1252 text by
//! accident — and a warning names the first such row. Nothing is aborted for encoding.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, Reader, ReaderBuilder};

use super::encoding::{self, TextEncoding, TranscodingReader, SNIFF_BYTES};
use super::{read_up_to, Header, InputError, Row};

/// The delimiters tried, in order of preference when several fit equally well.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// How many records (header included) the delimiter sniffer looks at.
const SNIFF_RECORDS: usize = 20;
/// How many bytes of the file the delimiter sniffer looks at.
const SNIFF_SAMPLE: usize = 64 * 1024;

/// A CSV file with its header read.
pub(super) struct OpenedCsv {
    pub(super) header: Header,
    pub(super) delimiter: u8,
    pub(super) encoding: TextEncoding,
    pub(super) warnings: Vec<String>,
    pub(super) rows: CsvRows,
}

/// The data records of a CSV file, read on demand.
pub(super) struct CsvRows {
    path: PathBuf,
    reader: Reader<LineCounter>,
    record: ByteRecord,
    encoding: TextEncoding,
    header_len: usize,
    warned_fallback: bool,
    done: bool,
}

/// Counts the rows a spreadsheet shows, under the CSV parser.
///
/// The parser skips blank lines without a trace (and counts `\n` only, so not the lines of a
/// file ending them with a bare `\r`), but a spreadsheet opening the file shows each blank
/// line as an empty row, and the row numbers of the report must match it. So the bytes the
/// parser reads pass through here, and after each record the stretch it consumed is looked
/// at: the line breaks between one record's last byte and the next record's first byte are
/// the previous record's end and the blank lines. A line break inside a record can only be
/// in a quoted value, which a spreadsheet shows within one row, so it is not counted.
struct LineCounter {
    inner: Box<dyn Read + Send>,
    /// The bytes handed to the parser from stream offset `base` on, not yet looked at.
    pending: Vec<u8>,
    base: u64,
    /// The stream offset up to which records have been looked at.
    seen: u64,
    /// The spreadsheet row at offset `seen`: 1 plus the line breaks outside records so far.
    row: usize,
    /// The last byte looked at was a `\r`, so a `\n` right after it ends the same line.
    after_cr: bool,
}

impl Read for LineCounter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl LineCounter {
    fn new(inner: Box<dyn Read + Send>) -> LineCounter {
        LineCounter { inner, pending: Vec::new(), base: 0, seen: 0, row: 1, after_cr: false }
    }

    /// Counts one line-break byte; `\r\n` is one break, as are a lone `\r` and a lone `\n`.
    fn line_break(&mut self, byte: u8) {
        if !(byte == b'\n' && self.after_cr) {
            self.row += 1;
        }
        self.after_cr = byte == b'\r';
    }

    /// The parser has read a record ending at stream offset `end`: returns the spreadsheet row
    /// the record starts on.
    fn record(&mut self, end: u64) -> usize {
        let from = usize::try_from(self.seen - self.base).unwrap_or(usize::MAX);
        let to = usize::try_from(end - self.base).unwrap_or(usize::MAX);
        let span = std::mem::take(&mut self.pending);
        let stretch = span.get(from..to).unwrap_or_default();
        let is_break = |b: &u8| *b == b'\r' || *b == b'\n';
        // Blank lines (and a `\n` left over from the last record's `\r\n`) lead the stretch.
        let lead = stretch.iter().take_while(|b| is_break(b)).count();
        for &byte in &stretch[..lead] {
            self.line_break(byte);
        }
        let number = self.row;
        // The record's own end: every line-break byte after its last other byte.
        let trail = stretch[lead..].iter().rev().take_while(|b| is_break(b)).count();
        self.after_cr = false;
        for &byte in &stretch[stretch.len() - trail..] {
            self.line_break(byte);
        }
        self.pending = span;
        self.seen = end;
        // Drop what was looked at now and then, not after every record: the buffer holds the
        // parser's read-ahead, and shifting it for each record would cost as much again.
        if to > 64 * 1024 && to <= self.pending.len() {
            self.pending.drain(..to);
            self.base = end;
        }
        number
    }
}

/// Opens `file` (already open at its start) as CSV and reads the header record.
pub(super) fn open(path: &Path, mut file: File) -> Result<OpenedCsv, InputError> {
    let open_err = |source| InputError::Open { path: path.to_path_buf(), source };
    let mut prefix = vec![0u8; SNIFF_BYTES];
    let n = read_up_to(&mut file, &mut prefix).map_err(open_err)?;
    prefix.truncate(n);
    let complete = n < SNIFF_BYTES;
    let encoding = encoding::detect(&prefix, complete);
    let bom = encoding.bom_len();

    let sample_end = (bom + SNIFF_SAMPLE).min(prefix.len());
    let sample = encoding::decode_sample(&prefix[bom..sample_end], encoding);
    // Excel's own hint, a first line `sep=;`, names the delimiter; the line is not data.
    let excel_sep = excel_separator(&sample);
    let delimiter = match excel_sep {
        Some(d) => d,
        None => sniff_delimiter(&sample, complete && sample_end == prefix.len()),
    };

    let mut warnings = Vec::new();
    if encoding == TextEncoding::Windows1252 {
        warnings.push(format!("{} is not UTF-8; read as Windows-1252", path.display()));
    }

    let mut start = Cursor::new(prefix);
    start.set_position(bom as u64);
    let stream = start.chain(file);
    let stream: Box<dyn Read + Send> = match encoding.utf16() {
        Some(utf16) => Box::new(TranscodingReader::new(stream, utf16)),
        None => Box::new(stream),
    };
    let stream = LineCounter::new(stream);
    // No header handling (the header is read as a record, to keep row numbers in one place),
    // flexible so a ragged row is reported as that row's problem instead of ending the file.
    let reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(stream);
    let mut rows = CsvRows {
        path: path.to_path_buf(),
        reader,
        record: ByteRecord::new(),
        encoding,
        header_len: 0,
        warned_fallback: false,
        done: false,
    };
    let mut names = Vec::new();
    if excel_sep.is_some() {
        let _ = rows.next_record(&mut names, &mut warnings);
    }
    let header_row = loop {
        match rows.next_record(&mut names, &mut warnings) {
            None => return Err(InputError::Empty { path: path.to_path_buf() }),
            Some(Err(e)) => return Err(e),
            Some(Ok(_)) if rows.record.iter().all(<[u8]>::is_empty) => continue,
            Some(Ok(row)) => break row,
        }
    };
    // A BOM the encoding step did not remove (a doubled one, or one inside UTF-16) would
    // otherwise become part of the first column's name.
    if let Some(first) = names.first_mut() {
        if let Some(rest) = first.strip_prefix('\u{FEFF}') {
            *first = rest.to_string();
            crate::output::guard::unguard_in_place(first);
        }
    }
    rows.header_len = names.len();
    Ok(OpenedCsv {
        header: Header::from_names(names, header_row),
        delimiter,
        encoding,
        warnings,
        rows,
    })
}

impl CsvRows {
    /// Reads the next non-empty data row into `row`, reusing its cells' buffers; `false` at
    /// the end.
    pub(super) fn read_row(
        &mut self,
        row: &mut Row,
        warnings: &mut Vec<String>,
    ) -> Result<bool, InputError> {
        loop {
            let number = match self.next_record(&mut row.cells, warnings) {
                None => return Ok(false),
                Some(record) => record?,
            };
            // A line of nothing but separators and spaces is a blank row, as a spreadsheet
            // shows it: skipped, like an empty line.
            if self.record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            row.number = number;
            row.problem = None;
            if row.cells.len() != self.header_len {
                row.add_problem(format!(
                    "row {number} has {} cells but the header has {} columns",
                    row.cells.len(),
                    self.header_len
                ));
            }
            return Ok(true);
        }
    }

    /// Reads one record and decodes it into `cells`; returns its spreadsheet row number.
    fn next_record(
        &mut self,
        cells: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Option<Result<usize, InputError>> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(source) => {
                self.done = true;
                let row = self.reader.get_ref().row;
                return Some(Err(InputError::Csv { path: self.path.clone(), row, source }));
            }
        }
        // The row a spreadsheet shows: a record whose quoted value spans lines is one row, and
        // a blank line is an empty row of its own.
        let end = self.reader.position().byte();
        let number = self.reader.get_mut().record(end);
        self.decode(number, cells, warnings);
        Some(Ok(number))
    }

    /// Decodes the current record into `cells`, reusing the strings already there.
    fn decode(&mut self, number: usize, cells: &mut Vec<String>, warnings: &mut Vec<String>) {
        cells.resize_with(self.record.len(), String::new);
        if self.encoding != TextEncoding::Windows1252 {
            // The record is checked as a whole; `get` then refuses a field boundary inside a
            // character, so each field is valid UTF-8 on its own too.
            if let Ok(text) = std::str::from_utf8(self.record.as_slice()) {
                let record = &self.record;
                let field = |i: usize| record.range(i).and_then(|r| text.get(r));
                if (0..cells.len()).all(|i| field(i).is_some()) {
                    for (i, cell) in cells.iter_mut().enumerate() {
                        cell.clear();
                        cell.push_str(field(i).unwrap_or_default());
                        crate::output::guard::unguard_in_place(cell);
                    }
                    return;
                }
            }
            if !self.warned_fallback {
                self.warned_fallback = true;
                warnings.push(format!(
                    "row {number} of {} is not valid UTF-8; rows that are not were read as \
                     Windows-1252",
                    self.path.display()
                ));
            }
        }
        for (cell, field) in cells.iter_mut().zip(self.record.iter()) {
            cell.clear();
            cell.push_str(&encoding::decode_1252(field));
            // The formula-injection guard of a CSV zdbulk (or Excel) wrote: removed.
            crate::output::guard::unguard_in_place(cell);
        }
    }
}

/// The delimiter a first line `sep=X` names (Excel writes and reads it), if there is one.
fn excel_separator(sample: &str) -> Option<u8> {
    let first = sample.lines().next()?.trim_end_matches('\r');
    match first.as_bytes() {
        [s, e, p, b'=', d]
            if [s, e, p].map(u8::to_ascii_lowercase) == [b's', b'e', b'p']
                && d.is_ascii_punctuation()
                && *d != b'"' =>
        {
            Some(*d)
        }
        [s, e, p, b'=', b'\t'] if [s, e, p].map(u8::to_ascii_lowercase) == [b's', b'e', b'p'] => {
            Some(b'\t')
        }
        _ => None,
    }
}

/// Picks the delimiter among `,` `;` tab `|`: the one that splits the header into the most
/// columns (more than one) while every sampled record has the same count; failing that, the
/// one giving the header the most columns; failing that, `,`. `complete` says the sample is
/// the whole file (otherwise its last record may be cut and is not counted).
pub(super) fn sniff_delimiter(sample: &str, complete: bool) -> u8 {
    let mut best: Option<(bool, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample.as_bytes());
        let mut counts: Vec<usize> = reader
            .byte_records()
            .take(SNIFF_RECORDS + 1)
            .map_while(Result::ok)
            .map(|r| r.len())
            .collect();
        if !complete && counts.len() > 1 {
            counts.pop();
        }
        counts.truncate(SNIFF_RECORDS);
        let Some(&columns) = counts.first() else { continue };
        if columns < 2 {
            continue;
        }
        let consistent = counts.iter().all(|&c| c == columns);
        // Strictly better only, so earlier delimiters win ties.
        if best.is_none_or(|(c, n, _)| (consistent, columns) > (c, n)) {
            best = Some((consistent, columns, delimiter));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_delimiter() {
        for d in [",", ";", "\t", "|"] {
            let text = format!("name{d}external_id{d}notes\nAcme{d}a1{d}x\nBeta{d}b2{d}y\n");
            assert_eq!(sniff_delimiter(&text, true), d.as_bytes()[0], "delimiter {d:?}");
        }
    }

    #[test]
    fn sniffing_prefers_a_consistent_count() {
        // Commas inside values must not win over the semicolons that split every line.
        let text = "name;notes\nAcme, Inc;big, old\nBeta;b\n";
        assert_eq!(sniff_delimiter(text, true), b';');
        // Quoted delimiters do not count.
        let text = "name,notes\n\"Acme; Inc\",\"a;b;c\"\n";
        assert_eq!(sniff_delimiter(text, true), b',');
    }

    #[test]
    fn single_column_defaults_to_comma() {
        assert_eq!(sniff_delimiter("name\nAcme\n", true), b',');
        assert_eq!(sniff_delimiter("", true), b',');
    }

    #[test]
    fn a_cut_last_record_is_ignored() {
        let text = "name;notes\nAcme;x\nBe";
        assert_eq!(sniff_delimiter(text, false), b';');
    }
}
