//! Property tests of the validators: one cell against every field type (`check_cell`), and a
//! row checked to validate and to import (`check_row`).

use proptest::prelude::*;

use zdbulk::cli::Resource;
use zdbulk::input::ListSeparator;
use zdbulk::resource::{layer, Mode};
use zdbulk::schema::row::{check_row, Column, EmptyCells, RowRules};
use zdbulk::schema::value::check_cell;
use zdbulk::schema::{FieldDef, FieldOption, FieldType, Schema};

use super::config;
use super::mapping::header_name;

pub(super) const FIELD_TYPES: [FieldType; 10] = [
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

pub(super) fn pattern() -> impl Strategy<Value = Option<String>> {
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

// ---------------------------------------------------------------------------------------------
// Cases the properties found, kept as plain tests.

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
