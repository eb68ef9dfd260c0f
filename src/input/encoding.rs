//! Text encodings of CSV input: byte-order marks, the Windows-1252 fallback, and a streaming
//! UTF-16 to UTF-8 reader so large UTF-16 files are never held in memory.

use std::borrow::Cow;
use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, WINDOWS_1252};

/// How many leading bytes decide a BOM-less file's encoding. A megabyte holds thousands of
/// rows, so a Windows-1252 file almost always shows a non-UTF-8 byte here; a later one is
/// handled row by row (see `csv.rs`).
pub(super) const SNIFF_BYTES: usize = 1 << 20;

/// The text encoding a CSV file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// UTF-16 little-endian with a byte-order mark (Excel's "Unicode Text").
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
    /// Windows-1252, assumed when the first bytes are not UTF-8 (Excel's legacy "CSV").
    Windows1252,
}

impl TextEncoding {
    /// The encoding's usual name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }

    /// How many bytes of byte-order mark the file starts with.
    pub(super) fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
            TextEncoding::Utf8 | TextEncoding::Windows1252 => 0,
        }
    }

    /// The UTF-16 flavour, if the file needs transcoding before the CSV parser sees it.
    pub(super) fn utf16(self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Utf16Le => Some(encoding_rs::UTF_16LE),
            TextEncoding::Utf16Be => Some(encoding_rs::UTF_16BE),
            _ => None,
        }
    }
}

/// Decides the encoding from the file's first bytes. `complete` says `prefix` is the whole
/// file (so a multi-byte character cut at its end is really broken).
pub(super) fn detect(prefix: &[u8], complete: bool) -> TextEncoding {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8Bom;
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return TextEncoding::Utf16Le;
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return TextEncoding::Utf16Be;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => TextEncoding::Utf8,
        // The prefix ends inside a character: the file goes on, so that is not an error.
        Err(e) if e.error_len().is_none() && !complete => TextEncoding::Utf8,
        Err(_) => TextEncoding::Windows1252,
    }
}

/// Decodes a sample of the file (BOM already removed) for delimiter sniffing. Lossy: a cut
/// character at the end of the sample does not matter there.
pub(super) fn decode_sample(bytes: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::Windows1252 => WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
        TextEncoding::Utf16Le => {
            encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0.into_owned()
        }
        TextEncoding::Utf16Be => {
            encoding_rs::UTF_16BE.decode_without_bom_handling(bytes).0.into_owned()
        }
    }
}

/// Decodes Windows-1252 bytes; every byte sequence is valid there.
pub(super) fn decode_1252(bytes: &[u8]) -> Cow<'_, str> {
    WINDOWS_1252.decode_without_bom_handling(bytes).0
}

/// A reader that turns a UTF-16 byte stream into UTF-8 as it is read, a buffer at a time.
pub(super) struct TranscodingReader<R> {
    inner: R,
    decoder: Decoder,
    input: Box<[u8]>,
    in_start: usize,
    in_end: usize,
    input_done: bool,
    output: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    finished: bool,
}

impl<R: Read> TranscodingReader<R> {
    /// Wraps `inner`, which must start just after the byte-order mark.
    pub(super) fn new(inner: R, encoding: &'static Encoding) -> Self {
        const CHUNK: usize = 64 * 1024;
        TranscodingReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; CHUNK].into_boxed_slice(),
            in_start: 0,
            in_end: 0,
            input_done: false,
            // Two UTF-16 bytes never become more than three UTF-8 bytes; the slack covers a
            // surrogate pair split across reads.
            output: vec![0; CHUNK * 3 / 2 + 16].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for TranscodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.input_done {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                self.in_start = 0;
                self.in_end = n;
                self.input_done = n == 0;
            }
            // Malformed UTF-16 (a lone surrogate) becomes U+FFFD rather than an error, as
            // every spreadsheet shows it.
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.input_done,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.input_done && result == CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn detects_boms_and_fallback() {
        assert_eq!(detect(b"\xEF\xBB\xBFname", false), TextEncoding::Utf8Bom);
        assert_eq!(detect(b"\xFF\xFEn\0", false), TextEncoding::Utf16Le);
        assert_eq!(detect(b"\xFE\xFF\0n", false), TextEncoding::Utf16Be);
        assert_eq!(detect("café".as_bytes(), true), TextEncoding::Utf8);
        assert_eq!(detect(b"caf\xE9", true), TextEncoding::Windows1252);
    }

    #[test]
    fn a_character_cut_at_the_sniff_limit_is_not_an_error() {
        let cut = &"é".as_bytes()[..1];
        assert_eq!(detect(cut, false), TextEncoding::Utf8);
        assert_eq!(detect(cut, true), TextEncoding::Windows1252);
    }

    #[test]
    fn transcodes_utf16_across_small_reads() {
        // Far more than one chunk, with a character outside the BMP (a surrogate pair).
        let text = "name,notes\n".to_string() + &"Ünïcode 😀,x\n".repeat(20_000);
        let bytes = utf16le(&text);
        let mut reader = TranscodingReader::new(&bytes[..], encoding_rs::UTF_16LE);
        let mut out = Vec::new();
        let mut buf = [0u8; 7]; // odd-sized reads split characters
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }
}
