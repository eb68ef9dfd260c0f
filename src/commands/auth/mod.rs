//! `zdbulk auth login | status | logout`: the stored OAuth login of one account (issue 11).
//! No token is ever printed, whatever the output format.

mod callback;
mod login;

use serde_json::{json, Value};

use crate::cli::{AuthAction, AuthArgs, AuthStatusArgs, AuthTargetArgs};
use crate::env;
use crate::error::{api_error, usage_error, ExitStatus};
use crate::settings;
use crate::zendesk::auth::store::{LoginRef, Storage, StoreError, StoredLogin};
use crate::zendesk::{ApiError, Client, ClientSettings, Credentials};

/// Runs one `auth` subcommand.
pub async fn run(args: AuthArgs) -> anyhow::Result<ExitStatus> {
    match args.action {
        AuthAction::Login(args) => login::run(args).await,
        AuthAction::Status(args) => status(args).await,
        AuthAction::Logout(args) => logout(args).await,
    }
}

/// The stored login of the account the flags name, or the error that says how to make one.
fn stored(account: &AuthTargetArgs) -> anyhow::Result<(LoginRef, StoredLogin, Storage)> {
    let base = settings::account_url(&account.target())?;
    // Through the client's checks, so the key is the account root the other commands use.
    let client = Client::new(ClientSettings::new(base, Credentials::None))
        .map_err(|e| usage_error(e.to_string()))?;
    let login = LoginRef::for_account(client.base_url()).map_err(store_error)?;
    match login.load().map_err(store_error)? {
        Some((record, storage)) => Ok((login, record, storage)),
        None => Err(usage_error(format!(
            "not logged in to {}: run `zdbulk auth login` for it first",
            login.account
        ))),
    }
}

async fn status(args: AuthStatusArgs) -> anyhow::Result<ExitStatus> {
    let (login, _, _) = stored(&args.account)?;
    let account = url::Url::parse(&login.account).map_err(|e| usage_error(e.to_string()))?;
    let client = Client::new(ClientSettings::new(account, Credentials::StoredLogin(login.clone())))
        .map_err(|e| usage_error(e.to_string()))?;
    // Checking the user may refresh the token, so the record is read again afterwards.
    let user = describe_user(&client).await;
    let Some((record, storage)) = login.load().map_err(store_error)? else {
        return Err(usage_error(format!("the login for {} was removed meanwhile", login.account)));
    };
    let overridden = [env::ZENDESK_OAUTH_TOKEN, env::ZENDESK_CLIENT_ID]
        .into_iter()
        .find(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    let (user_text, valid) = match &user {
        Ok(user) => (user.clone(), true),
        Err(err) => (format!("{err:#}"), false),
    };
    if args.json {
        let shown = json!({
            "account": record.account,
            "client_id": record.client_id,
            "user": if valid { Value::String(user_text.clone()) } else { Value::Null },
            "valid": valid,
            "error": if valid { Value::Null } else { Value::String(user_text.clone()) },
            "scopes": record.scope.split_whitespace().collect::<Vec<_>>(),
            "access_token_expires_at": when(record.expires_at_ms),
            "refresh_token_expires_at": when(record.refresh_expires_at_ms),
            "has_refresh_token": record.tokens.refresh_token.is_some(),
            "storage": storage,
            "path": login.path,
            "overridden_by": overridden,
        });
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        println!("account:       {}", record.account);
        println!("client:        {}", record.client_id);
        if valid {
            println!("user:          {user_text}");
        } else {
            println!("user:          unknown: the login does not work ({user_text})");
        }
        println!("scopes:        {}", record.scope);
        let never = || "no expiry".to_string();
        println!("access token:  expires {}", when(record.expires_at_ms).unwrap_or_else(never));
        let refresh = match &record.tokens.refresh_token {
            Some(_) => {
                format!("expires {}", when(record.refresh_expires_at_ms).unwrap_or_else(never))
            }
            None => "none (sign in again when the access token expires)".into(),
        };
        println!("refresh token: {refresh}");
        println!("stored in:     {}", where_stored(&login, storage));
        if let Some(name) = overridden {
            println!("note:          {name} is set, and commands use it instead of this login");
        }
    }
    Ok(if valid { ExitStatus::Success } else { ExitStatus::Api })
}

async fn logout(args: AuthTargetArgs) -> anyhow::Result<ExitStatus> {
    let (login, record, _) = stored(&args)?;
    let account = url::Url::parse(&login.account).map_err(|e| usage_error(e.to_string()))?;
    let client = Client::new(ClientSettings::new(account, Credentials::StoredLogin(login.clone())))
        .map_err(|e| usage_error(e.to_string()))?;
    // oauth.md §1: find the token's id, then delete it (which kills its refresh token too).
    let revoked = async {
        let current: Value = client.get_json("oauth/tokens/current.json", &[]).await?;
        let id = current["token"]["id"].as_u64().ok_or_else(|| ApiError::Auth {
            url: login.account.clone(),
            status: None,
            reason: "the token's record has no id".into(),
        })?;
        client.delete(&format!("oauth/tokens/{id}.json")).await
    }
    .await;
    match revoked {
        Ok(_) => println!("Revoked the token at {} and forgot the login", record.account),
        // A login Zendesk already refuses (revoked, expired) has nothing left to revoke.
        Err(ApiError::Auth { .. }) => {
            println!("The token was no longer valid at {}; forgot the login", record.account)
        }
        Err(ApiError::Status { status: 404, .. }) => {
            println!("The token was no longer known at {}; forgot the login", record.account)
        }
        Err(err) => {
            // Keep the login: forgetting a token that still works would leave it alive with
            // no way to revoke it from here.
            return Err(api_error(format!(
                "could not revoke the token at {} ({}); the login is kept, run `zdbulk auth \
                 logout` again later",
                record.account,
                crate::error::chain(&err)
            )));
        }
    }
    login.remove().map_err(store_error)?;
    Ok(ExitStatus::Success)
}

/// `Name <email>` of the user the client's token acts as. `/users/me` answers 200 with an
/// anonymous user for bad credentials (a trap, see the sandbox's `api.rs`), so no id means
/// the credentials do not work.
async fn describe_user(client: &Client) -> anyhow::Result<String> {
    let me: Value = client.get_json("users/me.json", &[]).await.map_err(|e| {
        api_error(format!("could not read the signed-in user: {}", crate::error::chain(&e)))
    })?;
    let user = &me["user"];
    if user["id"].is_null() {
        return Err(api_error("Zendesk answered as the anonymous user: the token is not accepted"));
    }
    let name = user["name"].as_str().unwrap_or("?");
    Ok(match user["email"].as_str() {
        Some(email) => format!("{name} <{email}>"),
        None => name.to_string(),
    })
}

/// Where a login's tokens are, for people.
fn where_stored(login: &LoginRef, storage: Storage) -> String {
    match storage {
        Storage::Keyring => format!("the OS keyring (details in {})", login.path.display()),
        Storage::File => format!("the file {} (readable by you only)", login.path.display()),
    }
}

/// A store failure as a configuration error (exit 2).
fn store_error(err: StoreError) -> anyhow::Error {
    usage_error(crate::error::chain(&err))
}
