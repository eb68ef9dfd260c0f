//! The CSV an export writes (the output itself, or the spool an XLSX is made from): UTF-8,
//! every cell through the formula-injection guard, `--excel` adding a byte-order mark and CRLF
//! line ends. It can be opened again at a page boundary and appended to (`--resume`).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::output::guard::guard;
use crate::output::private;

/// The UTF-8 byte-order mark Excel needs to read a CSV as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV being written page by page.
pub struct CsvOut {
    path: PathBuf,
    writer: csv::Writer<File>,
}

fn builder(excel: bool) -> csv::WriterBuilder {
    let mut b = csv::WriterBuilder::new();
    if excel {
        b.terminator(csv::Terminator::CRLF);
    }
    b
}

impl CsvOut {
    /// Creates (or truncates) `path`, 0600, and writes the BOM (`excel`) and the header.
    pub fn create(path: &Path, header: &[String], excel: bool) -> anyhow::Result<CsvOut> {
        let mut file =
            private::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        if excel {
            use std::io::Write as _;
            file.write_all(BOM).with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut out = CsvOut { path: path.to_path_buf(), writer: builder(excel).from_writer(file) };
        out.write_row(header)?;
        Ok(out)
    }

    /// Opens `path` again, cut back to `bytes` (the length after the last page written), to
    /// append the next pages.
    pub fn reopen(path: &Path, bytes: u64, excel: bool) -> anyhow::Result<CsvOut> {
        use std::io::{Seek as _, SeekFrom};
        let what = || format!("cannot resume {}", path.display());
        let mut file = private::options().write(true).open(path).with_context(what)?;
        let len = file.metadata().with_context(what)?.len();
        if len < bytes {
            anyhow::bail!(
                "{} is shorter ({len} bytes) than the export state says ({bytes} bytes): it was changed since; start the export again without --resume",
                path.display()
            );
        }
        file.set_len(bytes).with_context(what)?;
        file.seek(SeekFrom::End(0)).with_context(what)?;
        Ok(CsvOut { path: path.to_path_buf(), writer: builder(excel).from_writer(file) })
    }

    /// Writes one row, each cell guarded.
    pub fn write_row(&mut self, cells: &[String]) -> anyhow::Result<()> {
        self.writer
            .write_record(
                cells.iter().map(|c| guard(c)).collect::<Vec<_>>().iter().map(|c| c.as_bytes()),
            )
            .with_context(|| format!("failed to write {}", self.path.display()))
    }

    /// Flushes and syncs what was written; returns the file's length, the resume point.
    pub fn sync(&mut self) -> anyhow::Result<u64> {
        let what = || format!("failed to write {}", self.path.display());
        self.writer.flush().with_context(what)?;
        let file = self.writer.get_ref();
        file.sync_data().with_context(what)?;
        Ok(file.metadata().with_context(what)?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_guarded_excel_gets_bom_and_crlf_and_reopen_cuts_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let mut out = CsvOut::create(&path, &["id".into(), "notes".into()], true).unwrap();
        out.write_row(&["1".into(), "-5".into()]).unwrap();
        let at = out.sync().unwrap();
        out.write_row(&["2".into(), "half".into()]).unwrap();
        out.sync().unwrap();
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), b"\xEF\xBB\xBFid,notes\r\n1,'-5\r\n2,half\r\n");
        let mut out = CsvOut::reopen(&path, at, true).unwrap();
        out.write_row(&["3".into(), "=1+1".into()]).unwrap();
        out.sync().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"\xEF\xBB\xBFid,notes\r\n1,'-5\r\n3,'=1+1\r\n");
    }
}
