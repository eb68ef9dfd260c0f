//! The CSV dialect of a file zdbulk writes for the user to open the way they opened their
//! input (the failed rows): its delimiter, byte-order mark, line endings and encoding. An Excel
//! user in a semicolon locale, or on Windows-1252, opens it as they opened the file they gave.

use std::path::Path;

use crate::input::TextEncoding;

/// How a CSV file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    /// The delimiter.
    pub delimiter: u8,
    /// `\r\n` line ends (else `\n`).
    pub crlf: bool,
    /// The encoding (and, for UTF-8 and UTF-16, whether a byte-order mark comes first).
    pub encoding: TextEncoding,
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect { delimiter: b',', crlf: false, encoding: TextEncoding::Utf8 }
    }
}

/// Whether a file's first 64 KB end their lines with `\r\n` (in UTF-8, Windows-1252 or UTF-16).
pub fn uses_crlf(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(1 << 16);
    let read = std::fs::File::open(path).and_then(|f| f.take(1 << 16).read_to_end(&mut head));
    read.is_ok()
        && (head.windows(2).any(|w| w == b"\r\n")
            || head.windows(4).any(|w| w == b"\r\0\n\0" || w == b"\0\r\0\n"))
}

/// Rewrites `path` (written in UTF-8, without a BOM) in the dialect's encoding: Windows-1252
/// when every character fits (else UTF-8 with a BOM, so Excel still reads it right), UTF-16
/// with its BOM, or UTF-8 with a BOM.
pub fn transcode(path: &Path, encoding: TextEncoding) -> std::io::Result<()> {
    if encoding == TextEncoding::Utf8 {
        return Ok(());
    }
    let text = std::fs::read_to_string(path)?;
    let bytes: Vec<u8> = match encoding {
        TextEncoding::Windows1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
            if unmappable {
                [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()
            } else {
                bytes.into_owned()
            }
        }
        TextEncoding::Utf16Le => {
            [vec![0xFF, 0xFE], text.encode_utf16().flat_map(u16::to_le_bytes).collect()].concat()
        }
        TextEncoding::Utf16Be => {
            [vec![0xFE, 0xFF], text.encode_utf16().flat_map(u16::to_be_bytes).collect()].concat()
        }
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => {
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()
        }
    };
    super::private::write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_rewritten_in_the_inputs_encoding_or_utf8_when_it_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, "name;notes\r\nSociété;x\r\n").unwrap();
        assert!(uses_crlf(&path));
        transcode(&path, TextEncoding::Windows1252).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[12..18], b"Soci\xE9t", "é in Windows-1252");
        std::fs::write(&path, "name\nŁódź\n").unwrap();
        assert!(!uses_crlf(&path));
        transcode(&path, TextEncoding::Windows1252).unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBFname"), "UTF-8 with BOM");
        std::fs::write(&path, "a\n").unwrap();
        transcode(&path, TextEncoding::Utf16Le).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"\xFF\xFEa\0\n\0");
    }
}
