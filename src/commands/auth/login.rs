//! `zdbulk auth login`: the authorization-code grant with PKCE S256 (oauth.md §3), through
//! a one-shot loopback listener or a pasted redirect URL, then the stored login.

use std::io::BufRead as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{callback, describe_user, store_error};
use crate::cli::LoginArgs;
use crate::error::{api_error, usage_error, ExitStatus};
use crate::settings;
use crate::zendesk::auth::store::{LoginRef, StoredLogin, TokenPair};
use crate::zendesk::{redact_url, Client, ClientSettings, Credentials};

/// Runs the login and stores it.
pub(super) async fn run(args: LoginArgs) -> anyhow::Result<ExitStatus> {
    let base = settings::account_url(&args.account.target())?;
    let scope = args.scope.split_whitespace().collect::<Vec<_>>().join(" ");
    if scope.is_empty() {
        // oauth.md §7: an empty scope may mean full access; never send one.
        return Err(usage_error("--scope is empty: give the scopes to ask for, e.g. 'read write'"));
    }
    // No credentials yet; building the client refuses plain http off loopback before the
    // code or the tokens could cross the network in clear text.
    let client = Client::new(ClientSettings::new(base.clone(), Credentials::None))
        .map_err(|e| usage_error(e.to_string()))?;
    let account = client.base_url().clone();
    let login = LoginRef::for_account(&account).map_err(store_error)?;

    let verifier = random(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random(16);
    let listener = if args.paste {
        None
    } else {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            usage_error(format!(
                "cannot listen on {addr} for the sign-in redirect ({e}); free the port, pick \
                 another with --port (and register http://127.0.0.1:PORT/callback on the \
                 client), or use --paste"
            ))
        })?;
        Some(listener)
    };
    let port = match &listener {
        Some(l) => l.local_addr().map(|a| a.port()).unwrap_or(args.port),
        None => args.port,
    };
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let authorize =
        authorize_url(&account, &args.client_id, &redirect_uri, &scope, &state, &challenge)?;

    eprintln!(
        "Sign in to {} by opening this URL in a browser:\n\n  {authorize}\n",
        redact_url(&account)
    );
    let code = match listener {
        Some(listener) => {
            if !args.no_browser {
                open_browser(authorize.as_str());
            }
            eprintln!("Waiting for the browser to come back to {redirect_uri} ...");
            callback::listen(listener, &state).await?
        }
        None => {
            eprintln!(
                "After approving, the browser goes to {redirect_uri}?code=... (the page may \
                 fail to load). Paste that whole URL here and press Enter:"
            );
            let pasted = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map(|_| line)
            })
            .await
            .map_err(|e| usage_error(format!("failed to read the pasted URL: {e}")))?
            .map_err(|e| usage_error(format!("failed to read the pasted URL: {e}")))?;
            callback::code_from_pasted(&pasted, &state)?
        }
    };

    let body = serde_json::json!({
        "grant_type": "authorization_code",
        "code": code,
        "client_id": args.client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "scope": scope,
    });
    let answer = client.token_grant(&body).await.map_err(|e| {
        api_error(format!("the sign-in could not be completed: {}", crate::error::chain(&e)))
    })?;
    let refresh_token = answer.refresh_token.clone();
    if refresh_token.is_none() {
        // oauth.md §5: clients older than refresh support get no refresh token; such a login
        // dies with its access token, so say so now.
        eprintln!(
            "warning: Zendesk issued no refresh token: this login works until its access token \
             expires, then `zdbulk auth login` is needed again"
        );
    }
    finish(&login, &account, &args.client_id, &scope, answer, refresh_token).await
}

/// Checks who the token acts as, stores the login, and says where.
async fn finish(
    login: &LoginRef,
    account: &Url,
    client_id: &str,
    scope: &str,
    answer: crate::zendesk::auth::TokenAnswer,
    refresh_token: Option<String>,
) -> anyhow::Result<ExitStatus> {
    let now = chrono::Utc::now().timestamp_millis();
    let at = |secs: u64| {
        now.saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
    };
    let token = Credentials::Bearer(answer.access_token.clone());
    let checker = Client::new(ClientSettings::new(account.clone(), token))
        .map_err(|e| usage_error(e.to_string()))?;
    let user = describe_user(&checker).await?;
    let record = StoredLogin {
        account: login.account.clone(),
        client_id: client_id.to_string(),
        scope: answer
            .scope
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| scope.to_string()),
        user: Some(user.clone()),
        obtained_at_ms: now,
        expires_at_ms: answer.expires_in.map(at),
        refresh_expires_at_ms: answer.refresh_token_expires_in.map(at),
        tokens: TokenPair { access_token: answer.access_token, refresh_token },
    };
    let storage = login.save(&record).map_err(store_error)?;
    println!(
        "Logged in to {} as {user} (scopes: {}); {}",
        login.account,
        record.scope,
        super::where_stored(login, storage)
    );
    Ok(ExitStatus::Success)
}

/// `{account}/oauth/authorizations/new?...` with every value URL-encoded (oauth.md §3).
fn authorize_url(
    account: &Url,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    challenge: &str,
) -> anyhow::Result<Url> {
    let mut url = account
        .join("oauth/authorizations/new")
        .map_err(|e| usage_error(format!("{}: {e}", redact_url(account))))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// Opens the browser when there is a graphical one; the URL is printed either way. On Linux
/// without a display `webbrowser` would start a text browser in this terminal, so it is not
/// asked then.
fn open_browser(url: &str) {
    let graphical = !cfg!(target_os = "linux")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if graphical && webbrowser::open(url).is_ok() {
        eprintln!("(opened in your browser)");
    }
}

/// `bytes` random bytes as unpadded base64url: a PKCE verifier (32 bytes gives 43
/// characters, RFC 7636 §4.1) or a `state`.
fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}
