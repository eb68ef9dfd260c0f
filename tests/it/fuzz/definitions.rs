//! Property tests of definitions files (`read_definitions`): generated and junk files read as a
//! schema with a field for every row, or fail naming the file.

use proptest::prelude::*;

use zdbulk::schema::definitions::read_definitions;
use zdbulk::schema::FieldType;

use super::validators::{pattern, FIELD_TYPES};
use super::{config, write};

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
