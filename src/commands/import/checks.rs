//! The checks an import makes before it sends anything: its options, the custom field
//! columns against the account's fields, and who the run would mail a welcome e-mail.

use std::path::Path;

use super::{is_definitions, MAX_JOBS};
use crate::cli::{ImportArgs, ImportMode, Resource};
use crate::error::usage_error;
use crate::input::mapping::MappedHeader;
use crate::input::open_input;
use crate::pipeline::batch::MAX_BATCH;
use crate::resource::{layer, Layer};
use crate::schema::row::closest;
use crate::schema::Schema;

/// Refuses options that do not fit the resource, the mode or Zendesk's limits.
pub(super) fn check_args(args: &ImportArgs, validate: bool) -> anyhow::Result<()> {
    let verb = if validate { "validate" } else { "import" };
    let definitions = is_definitions(args.resource);
    if args.prune_options && !definitions {
        return Err(usage_error(
            "--prune-options is for field definitions (`import organization-fields` or `import user-fields`)",
        ));
    }
    if definitions && matches!(args.mode, ImportMode::Delete | ImportMode::Create) {
        return Err(usage_error(format!(
            "`zdbulk {verb} {}` creates the fields a file adds and updates the others (the default upsert mode, or --mode update); it never deletes a field, and --mode create would fail on every field that exists",
            args.resource.cli_name()
        )));
    }
    if definitions && (args.one_at_a_time || args.batch_size.is_some()) {
        return Err(usage_error(
            "field definitions are written one request a field: --one-at-a-time and --batch-size do not apply",
        ));
    }
    let welcome = layer(args.resource).facts().welcome_email;
    if args.welcome_email.is_some() && !welcome {
        return Err(usage_error("--welcome-email is for users"));
    }
    if args.one_at_a_time
        && (args.resource != Resource::Users
            || !matches!(args.mode, ImportMode::Upsert | ImportMode::Create))
    {
        return Err(usage_error(
            "--one-at-a-time sends users with `users/create_or_update`: it is for `import users` in upsert or create mode",
        ));
    }
    if let Some(n) = args.batch_size {
        if !(1..=MAX_BATCH).contains(&n) {
            return Err(usage_error(format!(
                "--batch-size {n} must be between 1 and {MAX_BATCH} (Zendesk's limit per job)"
            )));
        }
    }
    if let Some(n) = args.max_jobs {
        if !(1..=MAX_JOBS).contains(&n) {
            return Err(usage_error(format!(
                "--max-jobs {n} must be between 1 and {MAX_JOBS} (Zendesk's limit)"
            )));
        }
    }
    if args.max_rpm == Some(0) {
        return Err(usage_error("--max-rpm must be at least 1"));
    }
    if !validate && args.fields.is_some() {
        return Err(usage_error("--fields is for `zdbulk validate`; an import checks the account's own field definitions"));
    }
    Ok(())
}

/// Every custom field column must name a field of the account: refused before anything is
/// read further, with the closest known key.
pub(super) fn check_field_columns(
    layer: &dyn Layer,
    mapped: &MappedHeader,
    schema: &Schema,
    file: &Path,
) -> anyhow::Result<()> {
    let prefix = layer.fields_key();
    let unknown: Vec<String> = mapped
        .mapped()
        .filter_map(|c| c.custom_field_key().map(|k| (c, k)))
        .filter(|(_, k)| schema.get(k).is_none())
        .map(|(c, k)| match closest(k, schema.keys()) {
            Some(near) => format!("unknown column '{}' (did you mean '{prefix}.{near}'?)", c.raw),
            None => format!(
                "unknown column '{}' (the account has no {} field '{k}')",
                c.raw,
                layer.singular()
            ),
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(usage_error(format!("{}: {}", file.display(), unknown.join("; "))))
    }
}

/// Rows of a users file that would create a user with an e-mail address and say nothing of
/// the welcome e-mail (`verified` / `skip_verify_email` empty or false): Zendesk would mail
/// each of them. Counted in a pass over the file before anything is sent.
pub(super) fn undecided_welcomes(
    args: &ImportArgs,
    mapped: &MappedHeader,
) -> anyhow::Result<Vec<usize>> {
    // A row without a name cannot create anyone.
    let (Some(email), Some(name)) = (mapped.index_of("email"), mapped.index_of("name")) else {
        return Ok(vec![]);
    };
    // Any value decides, `false` too: `skip_verify_email=false` asks for the e-mail.
    let deciders: Vec<usize> =
        ["verified", "skip_verify_email"].iter().filter_map(|c| mapped.index_of(c)).collect();
    let mut rows = Vec::new();
    for row in open_input(&args.file, args.sheet.as_deref())? {
        let row = row?;
        let has = |i: usize| row.cells.get(i).is_some_and(|c| !c.trim().is_empty());
        if has(email) && has(name) && !deciders.iter().any(|&i| has(i)) {
            rows.push(row.number);
        }
    }
    Ok(rows)
}
