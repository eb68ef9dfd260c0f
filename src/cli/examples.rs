//! The examples that end each command's `--help` (issue 13: every command shows how it is used).

pub(super) const IMPORT_EXAMPLES: &str = "\
Examples:
  # Rehearse against the embedded sandbox (state in ./.zdbulk/sandbox.json)
  zdbulk import organizations samples/organizations.csv --sandbox

  # See what would change, value by value (changes.csv), before anything is written
  zdbulk import organizations orgs.xlsx --sheet Accounts --subdomain acme --dry-run

  # People, without Zendesk's welcome e-mails
  zdbulk import users people.csv --subdomain acme --welcome-email skip

  # Field definitions first; options the file leaves out are kept
  zdbulk import organization-fields fields.csv --subdomain acme

  # Re-run only the rows that failed, after fixing them
  zdbulk import organizations zdbulk-runs/<run>/failed.csv --subdomain acme";

pub(super) const AUTH_EXAMPLES: &str = "\
Examples:
  # Sign in once per account (a browser opens, or the URL is printed)
  zdbulk auth login --subdomain acme --client-id acme_cli

  # Who is signed in, with which scopes, until when, stored where (never the token)
  zdbulk auth status --subdomain acme

  # Revoke the token at Zendesk and forget it
  zdbulk auth logout --subdomain acme";

pub(super) const RESUME_EXAMPLES: &str = "\
Examples:
  # Finish a run stopped by Ctrl-C, a killed process or an API outage
  zdbulk resume zdbulk-runs/20261130T162439Z-organizations

  # The same run, against the sandbox restarted on another port
  zdbulk resume zdbulk-runs/20261130T162439Z-organizations --url http://127.0.0.1:8081";

pub(super) const VALIDATE_EXAMPLES: &str = "\
Examples:
  # Offline, against a definitions file: no account, no network
  zdbulk validate organizations orgs.csv --fields samples/organization-fields.csv

  # Against the account's own field definitions and records
  zdbulk validate users people.csv --subdomain acme";

pub(super) const SANDBOX_EXAMPLES: &str = "\
Examples:
  # Serve on the default address with Enterprise-like limits
  zdbulk sandbox

  # A minute of limits per second, some injected faults, state kept between runs
  zdbulk sandbox --time-scale 60 --faults 5xx=0.05,drop=0.02 --fault-seed 7 --state sb.json

  # Then, from another terminal
  curl -u admin@sandbox.test/token:sandbox-token http://127.0.0.1:8080/api/v2/organizations.json";

pub(super) const UNDO_EXAMPLES: &str = "\
Examples:
  # See what undoing a run would do; nothing is sent
  zdbulk undo zdbulk-runs/20260101T090000Z-organizations --dry-run

  # Delete what the run created, and write back the values it overwrote
  zdbulk undo zdbulk-runs/20260101T090000Z-organizations --restore-updates";

pub(super) const MERGE_EXAMPLES: &str = "\
Examples:
  # Propose pairs of duplicates for review; nothing is merged
  zdbulk merge organizations --suggest -o pairs.csv --sandbox

  # See what merging the reviewed pairs would move and lose; nothing is sent
  zdbulk merge organizations pairs.csv --dry-run --sandbox

  # Merge them, copying the losers' field values where the winners have none
  zdbulk merge organizations pairs.csv --keep-fields --yes --sandbox";

pub(super) const EXPORT_EXAMPLES: &str = "\
Examples:
  # Every organization, custom fields as columns, ready to edit and import again
  zdbulk export organizations -o orgs.xlsx --subdomain acme

  # Users changed since January, a few columns, a CSV Excel opens cleanly
  zdbulk export users -o people.csv --since 2026-01-01 --columns id,email,name,user_fields.vip --excel --subdomain acme

  # Field definitions, in the format `import organization-fields` reads
  zdbulk export organization-fields -o fields.csv --subdomain acme

  # Continue an export that was interrupted (Ctrl-C, a killed process)
  zdbulk export organizations -o orgs.xlsx --subdomain acme --resume";

pub(super) const LOGIN_EXAMPLES: &str = "\
Examples:
  # Opens the browser; Zendesk redirects back to http://127.0.0.1:8765/callback
  zdbulk auth login --subdomain acme --client-id acme_cli

  # Over SSH: open the printed URL anywhere, then paste the URL the browser ends on
  zdbulk auth login --subdomain acme --client-id acme_cli --paste

  # A narrower grant
  zdbulk auth login --subdomain acme --client-id acme_cli --scope 'read organizations:write users:write'";
