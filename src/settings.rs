//! Command-line target and credentials resolved into what commands use: the account's base
//! URL, the credentials (first match wins, `design.md` §1), and the client settings.

use std::path::Path;

use anyhow::Context as _;
use url::Url;

use crate::cli::TargetArgs;
use crate::env;
use crate::error::usage_error;
use crate::zendesk::auth::store::LoginRef;
use crate::zendesk::{redact_url, Client, ClientSettings, Credentials};
use zdbulk_sandbox::{self as sandbox, SandboxHandle};

/// A resolved target: where, as whom, and the embedded sandbox when `--sandbox` started one.
pub struct Target {
    /// The account root.
    pub base_url: Url,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The embedded sandbox; stop it with [`Target::shutdown`] to save its state.
    pub sandbox: Option<SandboxHandle>,
    /// Warnings to show (legacy API token, …).
    pub warnings: Vec<String>,
}

impl Target {
    /// Builds the API client, capping requests at `max_rpm` when given.
    pub fn client(&self, max_rpm: Option<u32>) -> anyhow::Result<Client> {
        let mut settings = ClientSettings::new(self.base_url.clone(), self.credentials.clone());
        settings.max_rpm = max_rpm;
        if std::env::var_os(env::ZDBULK_TEST_NO_RETRY_DELAY).is_some() {
            settings.retry_base_delay = std::time::Duration::ZERO;
        }
        Client::new(settings).map_err(|e| usage_error(e.to_string()))
    }

    /// Stops the embedded sandbox (if any) and saves its state.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await.context("failed to save the embedded sandbox's state")?;
        }
        Ok(())
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Checks a subdomain: letters, digits and hyphens.
pub fn subdomain_url(sub: &str) -> anyhow::Result<Url> {
    let ok = !sub.is_empty() && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(usage_error(format!(
            "--subdomain '{sub}' is not a Zendesk subdomain (letters, digits and '-'; for https://acme.zendesk.com use --subdomain acme)"
        )));
    }
    Url::parse(&format!("https://{sub}.zendesk.com"))
        .map_err(|e| usage_error(format!("--subdomain '{sub}': {e}")))
}

/// The credentials for the account at `base`, first match wins (design.md §1): a bearer
/// token from the environment (CI), client credentials, the login stored by `zdbulk auth
/// login`, then a legacy API token (with its warning).
pub fn credentials_for(base: &Url) -> anyhow::Result<(Credentials, Vec<String>)> {
    if let Some(token) = var(env::ZENDESK_OAUTH_TOKEN) {
        return Ok((Credentials::Bearer(token), vec![]));
    }
    if let (Some(client_id), Some(client_secret)) =
        (var(env::ZENDESK_CLIENT_ID), var(env::ZENDESK_CLIENT_SECRET))
    {
        let scope = var(env::ZENDESK_OAUTH_SCOPE).unwrap_or_default();
        return Ok((Credentials::ClientCredentials { client_id, client_secret, scope }, vec![]));
    }
    // No config directory means no stored login, not an error: the next source may match.
    if let Ok(login) = LoginRef::for_account(base) {
        if login.path.exists() {
            return Ok((Credentials::StoredLogin(login), vec![]));
        }
    }
    if let (Some(email), Some(token)) = (var(env::ZENDESK_EMAIL), var(env::ZENDESK_API_TOKEN)) {
        let warning =
            "using a legacy API token (ZENDESK_EMAIL/ZENDESK_API_TOKEN): Zendesk turns API tokens \
                       off on 2027-04-30; run `zdbulk auth login`, or set ZENDESK_CLIENT_ID and \
                       ZENDESK_CLIENT_SECRET, to use OAuth (docs/auth.md)"
                .to_string();
        return Ok((Credentials::Basic { email, token }, vec![warning]));
    }
    Err(usage_error(format!(
        "no credentials for {}: run `zdbulk auth login`, or set {} (an OAuth access token), or {} \
         and {} (OAuth client credentials), or {} and {} (legacy API token); or use --sandbox \
         to rehearse locally",
        redact_url(base),
        env::ZENDESK_OAUTH_TOKEN,
        env::ZENDESK_CLIENT_ID,
        env::ZENDESK_CLIENT_SECRET,
        env::ZENDESK_EMAIL,
        env::ZENDESK_API_TOKEN
    )))
}

/// The account a `--subdomain`/`--url` (or `ZENDESK_SUBDOMAIN`/`ZENDESK_URL`) names.
pub fn account_url(args: &TargetArgs) -> anyhow::Result<Url> {
    match (&args.subdomain, &args.url) {
        (Some(sub), _) => subdomain_url(sub),
        (None, Some(url)) => parse_url(url),
        (None, None) => match (var(env::ZENDESK_SUBDOMAIN), var(env::ZENDESK_URL)) {
            (Some(sub), _) => subdomain_url(&sub),
            (None, Some(url)) => parse_url(&url),
            (None, None) => Err(usage_error(
                "no target: give --sandbox (a local rehearsal account), --subdomain NAME or --url URL",
            )),
        },
    }
}

/// Resolves `--sandbox`, `--subdomain` or `--url` (or `ZENDESK_SUBDOMAIN`/`ZENDESK_URL`).
pub async fn resolve_target(args: &TargetArgs, cwd: &Path) -> anyhow::Result<Target> {
    if args.sandbox {
        let config = sandbox::embedded_config(cwd);
        let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| usage_error(format!("failed to start the embedded sandbox: {e:#}")))?;
        let base_url = Url::parse(&handle.url).context("the embedded sandbox's URL")?;
        let credentials = Credentials::Basic {
            email: sandbox::config::DEFAULT_EMAIL.into(),
            token: sandbox::config::DEFAULT_API_TOKEN.into(),
        };
        return Ok(Target { base_url, credentials, sandbox: Some(handle), warnings: vec![] });
    }
    let base_url = account_url(args)?;
    let (credentials, warnings) = credentials_for(&base_url)?;
    Ok(Target { base_url, credentials, sandbox: None, warnings })
}

fn parse_url(raw: &str) -> anyhow::Result<Url> {
    // The message never repeats `raw`: it may carry `user:secret@`.
    let url = Url::parse(raw)
        .map_err(|e| usage_error(format!("--url '{}' is not a URL: {e}", shown_url(raw))))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(usage_error(format!(
            "--url '{}' must be an http or https URL",
            redact_url(&url)
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage_error(format!(
            "--url '{}' carries credentials (user:password@): Zendesk ignores them there and they \
             would end up in shell history and logs; run `zdbulk auth login` or set \
             {} instead",
            redact_url(&url),
            env::ZENDESK_OAUTH_TOKEN
        )));
    }
    Ok(url)
}

/// A URL as typed, with anything before an `@` in its authority cut out.
fn shown_url(raw: &str) -> String {
    let (scheme, rest) = raw.split_once("://").unwrap_or(("", raw));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    format!("{scheme}{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_become_zendesk_urls() {
        assert_eq!(subdomain_url("acme").unwrap().as_str(), "https://acme.zendesk.com/");
        assert!(subdomain_url("acme.zendesk.com").is_err());
        assert!(subdomain_url("").is_err());
    }

    #[test]
    fn urls_with_credentials_are_refused_without_echoing_them() {
        for raw in ["http://me:hunter22@127.0.0.1:1/", "http://me:hunter22@[bad/"] {
            let err = format!("{:#}", parse_url(raw).unwrap_err());
            assert!(!err.contains("hunter22"), "{err}");
        }
    }
}
