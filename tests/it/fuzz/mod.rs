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
//! is kept as a named regression test (`fuzz_found_…`) at the end of its subject's module.
//!
//! This module holds what every subject shares: the configuration and reading a file back.

mod csv;
mod definitions;
mod mapping;
mod validators;
mod xlsx;

use std::path::{Path, PathBuf};

use proptest::test_runner::{Config, RngSeed};

use zdbulk::input::{open_input, InputError, InputFormat, Row};

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

fn svec(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
