//! The login `zdbulk auth login` stores: one per account, its tokens in the OS keyring where
//! one works, else in a 0600 file under the config directory, saved atomically and refreshed
//! under a file lock so processes never rotate the same pair twice (oauth.md §4, §8).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::env;

/// The keyring service name the tokens are stored under (the account URL is the user name).
#[cfg(any(target_os = "macos", target_os = "windows"))]
const KEYRING_SERVICE: &str = "zdbulk";

/// Why the stored login could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No config directory: neither `ZDBULK_CONFIG_DIR` nor the platform's is known.
    #[error("no config directory to keep the login in; set {}", env::ZDBULK_CONFIG_DIR)]
    NoConfigDir,
    /// A file or directory of the store could not be used.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The stored file is not a login this version can read.
    #[error("the stored login {} is unreadable ({reason}); run `zdbulk auth logout` then `zdbulk auth login`", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (never a secret).
        reason: String,
    },
    /// The file says the tokens are in the keyring, and the keyring does not have them.
    #[error(
        "the stored login's tokens are not in the OS keyring ({reason}); run `zdbulk auth login`"
    )]
    Keyring {
        /// What the keyring said.
        reason: String,
    },
}

/// An access token and the refresh token issued with it. `Debug` prints neither.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The bearer token.
    pub access_token: String,
    /// The refresh token; `None` for clients without refresh (oauth.md §5).
    pub refresh_token: Option<String>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenPair([redacted])")
    }
}

/// A stored login: who, for which client, and until when.
#[derive(Clone, Debug)]
pub struct StoredLogin {
    /// The account root (`https://acme.zendesk.com/`).
    pub account: String,
    /// The OAuth client's unique identifier.
    pub client_id: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The user the token acts as (`Name <email>`), as `/users/me` said at login.
    pub user: Option<String>,
    /// When the pair was issued (unix ms).
    pub obtained_at_ms: i64,
    /// When the access token dies (unix ms); `None` when it has no expiry.
    pub expires_at_ms: Option<i64>,
    /// When the refresh token dies (unix ms).
    pub refresh_expires_at_ms: Option<i64>,
    /// The secrets.
    pub tokens: TokenPair,
}

impl StoredLogin {
    /// When to renew the access token: at 80 % of its lifetime (oauth.md §4, as zdk does).
    pub fn renew_at_ms(&self) -> Option<i64> {
        let expires = self.expires_at_ms?;
        let life = (expires - self.obtained_at_ms).max(0);
        Some(self.obtained_at_ms + life * 4 / 5)
    }
}

/// The JSON file: the login without its tokens when they are in the keyring.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    account: String,
    client_id: String,
    scope: String,
    #[serde(default)]
    user: Option<String>,
    obtained_at_ms: i64,
    expires_at_ms: Option<i64>,
    refresh_expires_at_ms: Option<i64>,
    storage: Storage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokens: Option<TokenPair>,
}

/// Where the tokens are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// The OS keyring (macOS Keychain, Windows Credential Manager).
    Keyring,
    /// The 0600 file itself.
    File,
}

/// Where one account's login lives. Holds paths only, no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRef {
    /// The account root, the login's key.
    pub account: String,
    /// The JSON file.
    pub path: PathBuf,
}

/// The config directory: `ZDBULK_CONFIG_DIR`, else the platform's (`~/.config/zdbulk`).
pub fn config_dir() -> Result<PathBuf, StoreError> {
    if let Some(dir) = std::env::var_os(env::ZDBULK_CONFIG_DIR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir().map(|d| d.join("zdbulk")).ok_or(StoreError::NoConfigDir)
}

impl LoginRef {
    /// The login of the account rooted at `base` (one per account).
    pub fn for_account(base: &Url) -> Result<LoginRef, StoreError> {
        let mut account = base.clone();
        account.set_query(None);
        account.set_fragment(None);
        // Userinfo never belongs in a key (and may be a secret).
        let _ = account.set_username("");
        let _ = account.set_password(None);
        let mut name = String::new();
        if account.scheme() == "http" {
            name.push_str("http_");
        }
        name.push_str(account.host_str().unwrap_or("account"));
        if let Some(port) = account.port() {
            name.push_str(&format!("_{port}"));
        }
        let path = account.path().trim_matches('/');
        if !path.is_empty() {
            name.push('_');
            name.push_str(path);
        }
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .collect();
        let path = config_dir()?.join("logins").join(format!("{name}.json"));
        Ok(LoginRef { account: account.to_string(), path })
    }

    /// The lock file beside the login (never removed: see the sandbox's `lock.rs`).
    fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }

    /// Reads the login, or `None` when there is none.
    pub fn load(&self) -> Result<Option<(StoredLogin, Storage)>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io("read", &self.path, source)),
        };
        let corrupt = |reason: String| StoreError::Corrupt { path: self.path.clone(), reason };
        // serde's message names the field, never the value, for these types.
        let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let tokens = match (disk.storage, disk.tokens) {
            (Storage::File, Some(t)) => t,
            (Storage::File, None) => return Err(corrupt("no tokens".into())),
            (Storage::Keyring, _) => {
                let blob = os_keyring::load(&self.account)
                    .map_err(|reason| StoreError::Keyring { reason })?
                    .ok_or_else(|| StoreError::Keyring { reason: "no entry".into() })?;
                serde_json::from_str(&blob).map_err(|_| StoreError::Keyring {
                    reason: "the entry is not a login".into(),
                })?
            }
        };
        let login = StoredLogin {
            account: disk.account,
            client_id: disk.client_id,
            scope: disk.scope,
            user: disk.user,
            obtained_at_ms: disk.obtained_at_ms,
            expires_at_ms: disk.expires_at_ms,
            refresh_expires_at_ms: disk.refresh_expires_at_ms,
            tokens,
        };
        Ok(Some((login, disk.storage)))
    }

    /// Saves the login, replacing any other: the tokens into the keyring when it works
    /// (and `ZDBULK_NO_KEYRING` is unset), else into the file; the file is written to a
    /// temp file, flushed and renamed, so a reader sees the old pair or the new, never half.
    pub fn save(&self, login: &StoredLogin) -> Result<Storage, StoreError> {
        let blob = serde_json::to_string(&login.tokens)
            .map_err(|e| StoreError::Corrupt { path: self.path.clone(), reason: e.to_string() })?;
        let use_keyring = std::env::var_os(env::ZDBULK_NO_KEYRING).is_none();
        let storage = if use_keyring && os_keyring::save(&self.account, &blob).is_ok() {
            Storage::Keyring
        } else {
            Storage::File
        };
        let disk = OnDisk {
            version: 1,
            account: login.account.clone(),
            client_id: login.client_id.clone(),
            scope: login.scope.clone(),
            user: login.user.clone(),
            obtained_at_ms: login.obtained_at_ms,
            expires_at_ms: login.expires_at_ms,
            refresh_expires_at_ms: login.refresh_expires_at_ms,
            storage,
            tokens: (storage == Storage::File).then(|| login.tokens.clone()),
        };
        let json = serde_json::to_vec_pretty(&disk)
            .map_err(|e| StoreError::Corrupt { path: self.path.clone(), reason: e.to_string() })?;
        let dir = self.ensure_dir()?;
        // tempfile creates the file 0600 on Unix, so the secret is never readable by others,
        // not even between the write and the rename.
        let mut tmp =
            tempfile::NamedTempFile::new_in(&dir).map_err(|e| io("create a file in", &dir, e))?;
        tmp.write_all(&json).map_err(|e| io("write", tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| io("flush", &self.path, e))?;
        tmp.persist(&self.path).map_err(|e| io("replace", &self.path, e.error))?;
        if storage == Storage::File {
            // A keyring entry from an earlier login would only be a stale secret.
            let _ = os_keyring::delete(&self.account);
        }
        Ok(storage)
    }

    /// Forgets the login (file and keyring entry). Absent is fine.
    pub fn remove(&self) -> Result<(), StoreError> {
        let _ = os_keyring::delete(&self.account);
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(io("remove", &self.path, source)),
        }
    }

    /// Takes the exclusive lock that serialises refreshes of this login across processes,
    /// waiting for another holder (on a blocking thread, so the runtime keeps going).
    pub async fn lock(&self) -> Result<LoginLock, StoreError> {
        self.ensure_dir()?;
        let path = self.lock_path();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open the lock file", &path, e))?;
        let locked = tokio::task::spawn_blocking(move || {
            // Through the trait: since Rust 1.89 `File` has an inherent `lock` too.
            fs4::FileExt::lock(&file).map(|()| file)
        })
        .await
        .map_err(|e| io("lock", &path, std::io::Error::other(e.to_string())))?;
        let file = locked.map_err(|e| io("lock", &path, e))?;
        Ok(LoginLock { _file: file })
    }

    fn ensure_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.path.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(|e| io("create the directory", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let private = std::fs::Permissions::from_mode(0o700);
            std::fs::set_permissions(&dir, private).map_err(|e| io("protect", &dir, e))?;
        }
        Ok(dir)
    }
}

/// A held refresh lock; dropping it (or the process dying) releases it.
pub struct LoginLock {
    _file: std::fs::File,
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { action, path: path.to_path_buf(), source }
}

/// The OS keyring, where zdbulk links one (see `Cargo.toml`).
#[cfg(any(target_os = "macos", target_os = "windows"))]
mod os_keyring {
    use super::KEYRING_SERVICE;

    pub fn save(account: &str, blob: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())?;
        entry.set_password(blob).map_err(|e| e.to_string())
    }

    pub fn load(account: &str) -> Result<Option<String>, String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(blob) => Ok(Some(blob)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn delete(account: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// No keyring is linked on this platform: every save falls back to the file.
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
mod os_keyring {
    pub fn save(_account: &str, _blob: &str) -> Result<(), String> {
        Err("no OS keyring is linked on this platform".into())
    }

    pub fn load(_account: &str) -> Result<Option<String>, String> {
        Err("no OS keyring is linked on this platform".into())
    }

    pub fn delete(_account: &str) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_at_four_fifths_of_the_lifetime() {
        let login = StoredLogin {
            account: "https://acme.zendesk.com/".into(),
            client_id: "c".into(),
            scope: "read".into(),
            user: None,
            obtained_at_ms: 1000,
            expires_at_ms: Some(2000),
            refresh_expires_at_ms: None,
            tokens: TokenPair { access_token: "a-secret".into(), refresh_token: None },
        };
        assert_eq!(login.renew_at_ms(), Some(1800));
        assert!(!format!("{login:?}").contains("a-secret"));
    }
}
