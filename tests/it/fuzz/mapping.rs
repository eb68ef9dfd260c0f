//! Property tests of the header mapping (`map_header`) and `--map` files (`Renames`).

use proptest::prelude::*;

use zdbulk::cli::Resource;
use zdbulk::input::{map_header, Renames};

use super::csv::csv_piece;
use super::{config, write};

const RESOURCES: [Resource; 5] = [
    Resource::Organizations,
    Resource::Users,
    Resource::OrganizationFields,
    Resource::UserFields,
    Resource::Memberships,
];

/// The API names of organizations and users files (the ones any one file may use together).
const ORGANIZATION_NAMES: &[&str] = &[
    "name",
    "external_id",
    "domain_names",
    "tags",
    "details",
    "notes",
    "group_id",
    "shared_tickets",
    "shared_comments",
    "id",
];
const USER_NAMES: &[&str] = &[
    "name",
    "email",
    "external_id",
    "role",
    "phone",
    "organization",
    "organization_id",
    "tags",
    "details",
    "notes",
    "time_zone",
    "locale",
    "verified",
    "skip_verify_email",
    "id",
    "custom_role_id",
    "ticket_restriction",
    "shared_phone_number",
    "organizations",
];

/// A header name: known ones of every resource and dialect, custom-field prefixes with keys
/// (empty, spaced, unicode), ignored and unsupported columns, blanks, junk.
pub(super) fn header_name() -> impl Strategy<Value = String> {
    let mut known: Vec<&'static str> = ORGANIZATION_NAMES.to_vec();
    known.extend(USER_NAMES);
    known.extend([
        "default",
        "shared",
        "group",
        "restriction",
        "emails",
        "phones",
        "shared_phone",
        "zdbulk_error",
        "brand",
        "custom_role",
        "suspended",
        "key",
        "title",
        "type",
        "options",
        "External ID",
        "e-mail",
        "nmae",
    ]);
    let prefix = prop::sample::select(vec![
        "organization_fields.",
        "custom_fields.",
        "user_fields.",
        "ORGANIZATION_FIELDS.",
        "organisation_fields.",
        "user_field.",
        ".",
    ]);
    let key = prop_oneof!["[a-zA-Z0-9_]{0,8}", "[ -~]{0,8}", any::<String>()];
    let name = prop_oneof![
        5 => prop::sample::select(known).prop_map(str::to_string),
        3 => (prefix, key).prop_map(|(p, k)| format!("{p}{k}")),
        1 => Just(String::new()),
        2 => any::<String>(),
        1 => "[a-z_. -]{1,16}",
    ];
    // Any case, spaces around.
    (name, any::<bool>(), " {0,2}", " {0,2}").prop_map(|(n, upper, a, b)| {
        let n = if upper { n.to_uppercase() } else { n };
        format!("{a}{n}{b}")
    })
}

fn renames() -> impl Strategy<Value = Option<Vec<(String, String)>>> {
    prop::option::of(prop::collection::vec((header_name(), header_name()), 0..4))
}

/// A header of API names of `resource`, each once, with custom fields: maps to those names.
fn api_header() -> impl Strategy<Value = (Resource, Vec<String>, Vec<String>)> {
    prop::sample::select(vec![Resource::Organizations, Resource::Users]).prop_flat_map(|r| {
        let (names, prefix) = match r {
            Resource::Organizations => (ORGANIZATION_NAMES, "organization_fields."),
            _ => (USER_NAMES, "user_fields."),
        };
        // `organization` and `organizations` are both API columns of users; any subset works.
        let picked = prop::sample::subsequence(names.to_vec(), 0..=names.len()).prop_shuffle();
        let keys = prop::collection::btree_set("[a-zA-Z][a-zA-Z0-9_]{0,8}", 0..4);
        (picked, keys, any::<u64>()).prop_map(move |(picked, keys, case)| {
            let canonical: Vec<String> = picked
                .iter()
                .map(|n| n.to_string())
                .chain(keys.iter().map(|k| format!("{prefix}{k}")))
                .collect();
            // Each name in a case and with spaces a bit at random (the bits of `case`).
            let raw = canonical
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let bits = case >> (i % 32 * 2);
                    let (head, key) = n.split_at(n.find('.').map_or(n.len(), |d| d + 1));
                    let head = if bits & 1 == 1 { head.to_uppercase() } else { head.to_string() };
                    let pad = if bits & 2 == 2 { " " } else { "" };
                    format!("{pad}{head}{key}{pad}")
                })
                .collect();
            (r, raw, canonical)
        })
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Any header, with or without renames, for every resource: mapped or a clear error, and
    /// a mapping keeps what it promises (one entry a column, each API name once).
    #[test]
    fn fuzz_map_header(
        raw in prop::collection::vec(header_name(), 0..10),
        pairs in renames(),
    ) {
        let renames = pairs.and_then(|p| Renames::new(p).ok());
        for resource in RESOURCES {
            match map_header(resource, &raw, renames.as_ref()) {
                Ok(mapped) => {
                    prop_assert_eq!(mapped.columns.len(), raw.len());
                    let mut seen = std::collections::HashSet::new();
                    for (i, column) in mapped.columns.iter().enumerate() {
                        let Some(column) = column else { continue };
                        prop_assert_eq!(column.index, i);
                        prop_assert_eq!(&column.raw, &raw[i]);
                        prop_assert!(!column.canonical.is_empty());
                        prop_assert!(seen.insert(column.canonical.clone()), "{} twice", column.canonical);
                    }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    /// A header of distinct API names maps, each to its own name.
    #[test]
    fn fuzz_map_header_api_names((resource, raw, canonical) in api_header()) {
        let mapped = map_header(resource, &raw, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<String> = mapped.columns.iter().flatten().map(|c| c.canonical.clone()).collect();
        prop_assert_eq!(got, canonical);
    }

    /// Any bytes as a `--map` file: renames or an error that names the file.
    #[test]
    fn fuzz_map_file_arbitrary(bytes in prop::collection::vec(any::<u8>(), 0..512), pieces in prop::collection::vec(csv_piece(), 0..60), generated in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "map.csv", &if generated { pieces.concat() } else { bytes });
        if let Err(e) = Renames::from_path(&path) {
            let message = e.to_string();
            prop_assert!(message.contains(&path.display().to_string()), "{}", message);
        }
    }

    /// A `--map` file of distinct renames, with or without its `from,to` header, reads as
    /// those renames.
    #[test]
    fn fuzz_map_file_written(
        pairs in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9 ._\"-]{0,10}", "[a-zA-Z0-9 ._\"-]{0,10}"), 1..8),
        with_header in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(from, _)| seen.insert(from.trim().to_lowercase())).collect();
        let mut writer = csv::WriterBuilder::new()
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        if with_header {
            writer.write_record(["from", "to"]).unwrap();
        }
        for (from, to) in &pairs {
            writer.write_record([from, to]).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "map.csv", &writer.into_inner().unwrap());
        let renames = Renames::from_path(&path).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert_eq!(renames.len(), pairs.len());
        for (from, to) in &pairs {
            prop_assert_eq!(renames.get(&from.to_uppercase()), Some(to.trim()));
        }
    }
}
