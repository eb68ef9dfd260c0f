//! Every environment variable zdbulk reads, as a documented constant (as uv's
//! `env_vars.rs` does), so a name is spelled once and tests can remove them all.

/// An OAuth access token sent as it is (`Authorization: Bearer`). First credential source.
pub const ZENDESK_OAUTH_TOKEN: &str = "ZENDESK_OAUTH_TOKEN";

/// OAuth client id (the client's unique identifier string) for the client-credentials grant.
pub const ZENDESK_CLIENT_ID: &str = "ZENDESK_CLIENT_ID";

/// OAuth client secret for the client-credentials grant (with [`ZENDESK_CLIENT_ID`]).
pub const ZENDESK_CLIENT_SECRET: &str = "ZENDESK_CLIENT_SECRET";

/// Space-separated OAuth scopes for the client-credentials grant; `read write` when unset.
pub const ZENDESK_OAUTH_SCOPE: &str = "ZENDESK_OAUTH_SCOPE";

/// Agent email for the legacy API token (with [`ZENDESK_API_TOKEN`]).
pub const ZENDESK_EMAIL: &str = "ZENDESK_EMAIL";

/// Legacy API token; Zendesk turns these off on 2027-04-30.
pub const ZENDESK_API_TOKEN: &str = "ZENDESK_API_TOKEN";

/// The account subdomain (`acme` for https://acme.zendesk.com), like `--subdomain`.
pub const ZENDESK_SUBDOMAIN: &str = "ZENDESK_SUBDOMAIN";

/// A full target URL (`http://127.0.0.1:8080`), like `--url`.
pub const ZENDESK_URL: &str = "ZENDESK_URL";

/// Used to disable the delay between HTTP retries in tests (any non-empty value).
/// `Retry-After` waits are still honoured.
pub const ZDBULK_TEST_NO_RETRY_DELAY: &str = "ZDBULK_TEST_NO_RETRY_DELAY";

/// `off` makes the embedded sandbox (`--sandbox`) answer bulk user writes with 403, as an
/// account whose data imports are not enabled does (the sandbox crate reads it:
/// `zdbulk_sandbox::BULK_IMPORTS_ENV`).
pub const ZDBULK_SANDBOX_BULK_IMPORTS: &str = zdbulk_sandbox::BULK_IMPORTS_ENV;

/// The directory holding the stored login of `zdbulk auth login` (and its lock), instead of
/// the platform's config directory (`~/.config/zdbulk` on Linux). Tests point it at a temp dir.
pub const ZDBULK_CONFIG_DIR: &str = "ZDBULK_CONFIG_DIR";

/// Any non-empty value keeps the stored login's tokens out of the OS keyring: they go to
/// the 0600 file under [`ZDBULK_CONFIG_DIR`] (Linux always uses the file).
pub const ZDBULK_NO_KEYRING: &str = "ZDBULK_NO_KEYRING";

/// Every variable above, for test harnesses that clear the environment.
pub const ALL: &[&str] = &[
    ZENDESK_OAUTH_TOKEN,
    ZENDESK_CLIENT_ID,
    ZENDESK_CLIENT_SECRET,
    ZENDESK_OAUTH_SCOPE,
    ZENDESK_EMAIL,
    ZENDESK_API_TOKEN,
    ZENDESK_SUBDOMAIN,
    ZENDESK_URL,
    ZDBULK_TEST_NO_RETRY_DELAY,
    ZDBULK_SANDBOX_BULK_IMPORTS,
    ZDBULK_CONFIG_DIR,
    ZDBULK_NO_KEYRING,
];
