//! The refresh-token grant of the stored login: use the stored access token while it is
//! good; else, under the login's file lock, refresh and save the rotated pair before using
//! it, so two processes (or 30 workers) never spend one refresh token twice (oauth.md §4).

use std::time::Duration;

use tokio::time::Instant;

use super::mint::{is_invalid_grant, post_token, MintContext, TokenAnswer};
use super::store::{LoginRef, StoreError, StoredLogin, TokenPair};
use super::{Authenticator, CachedToken};
use crate::zendesk::error::ApiError;
use crate::zendesk::retry::RequestKind;

/// Wall-clock now, in unix milliseconds (the unit of the stored deadlines).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The command that makes a new login for `account` (`--subdomain` for a zendesk.com one).
pub fn login_command(account: &str, client_id: &str) -> String {
    let target = url::Url::parse(account)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            let sub = host.strip_suffix(".zendesk.com")?.to_string();
            (u.scheme() == "https" && !sub.contains('.')).then(|| format!("--subdomain {sub}"))
        })
        .unwrap_or_else(|| format!("--url {account}"));
    format!("zdbulk auth login {target} --client-id {client_id}")
}

impl Authenticator {
    /// The stored login's token: the stored one when it is not `stale` and not due for
    /// renewal, else a refreshed one, saved before it is returned.
    pub(super) async fn renew_login(
        &self,
        ctx: MintContext<'_>,
        login: &LoginRef,
        stale: Option<&str>,
    ) -> Result<CachedToken, ApiError> {
        // Held until the rotated pair is saved: another process waits here, then reads the
        // new pair below instead of refreshing with the old (spent) refresh token.
        let _lock = login.lock().await.map_err(|e| store_failure(login, &e))?;
        let record = read(login)?;
        if stale != Some(record.tokens.access_token.as_str())
            && record.renew_at_ms().is_none_or(|at| now_ms() < at)
        {
            return Ok(cached(&record));
        }
        let Some(refresh) = record.tokens.refresh_token.clone() else {
            return Err(relogin(
                &record,
                None,
                "its access token expired or was refused, and it has no refresh token",
            ));
        };
        let body = serde_json::json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": record.client_id,
        });
        // As a write: a lost answer may have rotated the pair, and sending the old refresh
        // token again would be a reuse (which servers may punish by revoking the login).
        // A failed refresh is returned; the authenticator keeps the current access token while
        // it is still valid (oauth.md §4 tool policy), as for client credentials.
        match post_token(ctx, &self.token_url, RequestKind::Write, &body).await {
            Ok(answer) => save_rotated(login, &record, &answer),
            Err(err) if is_invalid_grant(&err) => {
                // oauth.md §4: after invalid_grant, read the store once more: a process that
                // does not take the lock (an older zdbulk) may have rotated the pair.
                let again = read(login)?;
                let rotated = again.tokens.refresh_token.as_deref() != Some(refresh.as_str());
                if rotated && stale != Some(again.tokens.access_token.as_str()) {
                    return Ok(cached(&again));
                }
                Err(relogin(&record, err.status(), "Zendesk refused its refresh token (invalid_grant: revoked, expired or already used)"))
            }
            Err(err @ ApiError::RetriesExhausted { .. }) => Err(err),
            Err(err) => Err(match err {
                ApiError::Auth { url, status, reason } => ApiError::Auth {
                    url,
                    status,
                    reason: format!(
                        "{reason}; if this persists, run `{}`",
                        login_command(&record.account, &record.client_id)
                    ),
                },
                other => other,
            }),
        }
    }
}

/// Saves the pair a refresh returned, then hands out its access token. A pair that cannot
/// be saved is not used: the old one is already dead, and a run that went on with an
/// unsaved pair would leave a login nothing can refresh.
fn save_rotated(
    login: &LoginRef,
    old: &StoredLogin,
    answer: &TokenAnswer,
) -> Result<CachedToken, ApiError> {
    let now = now_ms();
    let secs =
        |s: u64| now.saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
    let renewed = StoredLogin {
        account: old.account.clone(),
        client_id: old.client_id.clone(),
        scope: answer.scope.clone().unwrap_or_else(|| old.scope.clone()),
        user: old.user.clone(),
        obtained_at_ms: now,
        expires_at_ms: answer.expires_in.map(secs),
        refresh_expires_at_ms: answer.refresh_token_expires_in.map(secs),
        tokens: TokenPair {
            access_token: answer.access_token.clone(),
            refresh_token: answer.refresh_token.clone(),
        },
    };
    login.save(&renewed).map_err(|e| ApiError::Auth {
        url: old.account.clone(),
        status: None,
        reason: format!(
            "the login was refreshed but the new tokens could not be saved ({}); the old ones \
             are no longer valid: run `{}`",
            crate::error::chain(&e),
            login_command(&old.account, &old.client_id)
        ),
    })?;
    Ok(cached(&renewed))
}

fn read(login: &LoginRef) -> Result<StoredLogin, ApiError> {
    match login.load() {
        Ok(Some((record, _))) => Ok(record),
        Ok(None) => Err(ApiError::Auth {
            url: login.account.clone(),
            status: None,
            reason: format!(
                "no stored login for {} (it was removed); run `zdbulk auth login`",
                login.account
            ),
        }),
        Err(e) => Err(store_failure(login, &e)),
    }
}

/// The token of a stored login, renewed at its stored 80 % point (mapped from the wall
/// clock onto the monotonic one).
fn cached(record: &StoredLogin) -> CachedToken {
    let at_instant = |at: i64| {
        let left = u64::try_from(at - now_ms()).unwrap_or(0);
        Instant::now() + Duration::from_millis(left)
    };
    let renew_at = record.renew_at_ms().map(at_instant);
    let expires_at = record.expires_at_ms.map(at_instant);
    CachedToken { access_token: record.tokens.access_token.clone(), renew_at, expires_at }
}

fn relogin(record: &StoredLogin, status: Option<u16>, why: &str) -> ApiError {
    ApiError::Auth {
        url: record.account.clone(),
        status,
        reason: format!(
            "the stored login can no longer be used: {why}; run `{}` to sign in again",
            login_command(&record.account, &record.client_id)
        ),
    }
}

fn store_failure(login: &LoginRef, err: &StoreError) -> ApiError {
    ApiError::Auth { url: login.account.clone(), status: None, reason: crate::error::chain(err) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_command_names_the_subdomain_or_the_url() {
        assert_eq!(
            login_command("https://acme.zendesk.com/", "cli"),
            "zdbulk auth login --subdomain acme --client-id cli"
        );
        assert_eq!(
            login_command("http://127.0.0.1:8080/", "cli"),
            "zdbulk auth login --url http://127.0.0.1:8080/ --client-id cli"
        );
    }
}
