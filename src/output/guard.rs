//! The formula-injection guard: a spreadsheet opened in Excel runs a cell that starts with `=`,
//! `+`, `-` or `@` (tab and CR too) as a formula. Every CSV zdbulk writes prefixes such a cell
//! with `'` (Excel's own "this is text" mark), and every CSV it reads removes exactly that
//! prefix, so `+15551234567`, `-5` and `=HYPERLINK("http://x")` come back byte-identical. XLSX
//! needs no prefix: zdbulk writes every cell there as a typed value or a text cell, which Excel
//! never evaluates.
//!
//! A cell that already starts with `'` before one of those characters gets one more `'`, so the
//! one removed on reading is always the one added on writing.

use std::borrow::Cow;

/// Whether a cell written as it is could run as a formula (or be read back as a guarded one).
fn needs_guard(cell: &str) -> bool {
    // `'` alone or before plain text is written as it is.
    let rest = cell.trim_start_matches('\'');
    matches!(rest.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// A cell as a CSV writes it: `'` before one that could run as a formula.
pub fn guard(cell: &str) -> Cow<'_, str> {
    if needs_guard(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell as a CSV reader gives it: the guard's `'` removed, nothing else.
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// Removes the guard from a cell in place (the CSV reader reuses its buffers).
pub fn unguard_in_place(cell: &mut String) {
    if cell.starts_with('\'') && needs_guard(&cell[1..]) {
        cell.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_cells_are_guarded_and_come_back_byte_identical() {
        for cell in [
            "+15551234567",
            "-5",
            "=HYPERLINK(\"http://x\")",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'=already quoted",
            "''+twice",
            "plain",
            "'plain apostrophe",
            "'",
            "",
            "5-3",
            "a=b",
        ] {
            let written = guard(cell);
            assert_eq!(unguard(&written), cell, "{cell:?} round trips");
            let mut buf = written.to_string();
            unguard_in_place(&mut buf);
            assert_eq!(buf, cell);
            let first = written.chars().next();
            assert!(
                !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                "{written:?} cannot run as a formula"
            );
        }
        assert_eq!(guard("plain"), "plain");
        assert_eq!(guard("-5"), "'-5");
        assert_eq!(guard("'=x"), "''=x");
        assert_eq!(unguard("'plain"), "'plain", "only the guard is removed");
    }
}
