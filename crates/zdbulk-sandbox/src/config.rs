//! The sandbox's knobs: limits, job timing, time scale, faults and credentials.

use std::path::PathBuf;

/// Everything that shapes how the sandbox behaves. [`Default`] is an Enterprise-like account.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Requests allowed in one sandbox minute (`x-rate-limit`).
    pub rate_limit: u32,
    /// Jobs that may be queued or running at once (Zendesk: 30).
    pub job_limit: usize,
    /// Sandbox milliseconds a job stays `queued`.
    pub job_delay_ms: u64,
    /// Sandbox milliseconds a job spends on each item while `working`.
    pub job_item_ms: u64,
    /// Sandbox time runs this many times faster than real time.
    pub time_scale: f64,
    /// Where state is loaded from and saved to, if anywhere.
    pub state_path: Option<PathBuf>,
    /// A seed file of field definitions and records, applied when no state was loaded.
    pub seed_path: Option<PathBuf>,
    /// Seed JSON given inline (the embedded sandbox uses this).
    pub seed_json: Option<String>,
    /// Fault-injection probabilities.
    pub faults: FaultSpec,
    /// Seed of the fault random generator.
    pub fault_seed: u64,
    /// The credentials the sandbox accepts.
    pub credentials: Credentials,
    /// Whether bulk user imports are enabled. Off, the bulk user writes answer 403 as on an
    /// account whose "data imports are not enabled" (`--no-bulk-imports`,
    /// [`BULK_IMPORTS_ENV`]).
    pub bulk_imports: bool,
    /// The access-token lifetime (sandbox seconds) when a request names none, instead of
    /// Zendesk's 1800. Unlike a requested `expires_in` it may be below 300, so tests can see
    /// tokens expire every second without speeding up the rate limits (`--access-token-ttl`).
    pub access_ttl_secs: Option<u64>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            rate_limit: 700,
            job_limit: 30,
            job_delay_ms: 2000,
            job_item_ms: 80,
            time_scale: 1.0,
            state_path: None,
            seed_path: None,
            seed_json: None,
            faults: FaultSpec::default(),
            fault_seed: 0,
            credentials: Credentials::default(),
            bulk_imports: true,
            access_ttl_secs: None,
        }
    }
}

/// Environment variable read by [`crate::embedded_config`] (the `--sandbox` account):
/// `off` (or `false`, `0`, `no`) switches bulk user imports off, so that a test of the real
/// binary can rehearse an account whose data imports are not enabled. Any other value, or
/// none, leaves them on.
pub const BULK_IMPORTS_ENV: &str = "ZDBULK_SANDBOX_BULK_IMPORTS";

/// Whether a [`BULK_IMPORTS_ENV`] value switches bulk imports off.
pub fn bulk_imports_off(value: &str) -> bool {
    ["off", "false", "0", "no"].iter().any(|v| value.trim().eq_ignore_ascii_case(v))
}

/// The sandbox's one admin and its two OAuth clients: a confidential one (client
/// credentials for CI, or code + secret) and a public one (PKCE, no secret) for people.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The admin's email (basic auth `email/token:TOKEN`).
    pub email: String,
    /// The admin's API token.
    pub api_token: String,
    /// The confidential OAuth client's identifier.
    pub client_id: String,
    /// The confidential OAuth client's secret.
    pub client_secret: String,
    /// The public OAuth client's identifier: PKCE is required and a secret refused.
    pub public_client_id: String,
}

/// The documented default credentials; every one can be changed by a `zdbulk sandbox` flag.
pub const DEFAULT_EMAIL: &str = "admin@sandbox.test";
/// The default API token.
pub const DEFAULT_API_TOKEN: &str = "sandbox-token";
/// The default OAuth client identifier.
pub const DEFAULT_CLIENT_ID: &str = "zdbulk-sandbox";
/// The default OAuth client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// The default public OAuth client identifier (for `zdbulk auth login`).
pub const DEFAULT_PUBLIC_CLIENT_ID: &str = "zdbulk-cli";

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            email: DEFAULT_EMAIL.into(),
            api_token: DEFAULT_API_TOKEN.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            public_client_id: DEFAULT_PUBLIC_CLIENT_ID.into(),
        }
    }
}

/// Probabilities (0..=1) of each injected fault, per request or per job.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultSpec {
    /// A request answered 500 or 503 without being carried out.
    pub server_error: f64,
    /// A request carried out whose answer is lost: the connection drops mid-answer.
    pub drop: f64,
    /// A request answered late (see [`SLOW_ANSWER_MS`]).
    pub slow: f64,
    /// A job that ends `failed` after doing only part of its items.
    pub job_fail: f64,
    /// A bearer-authenticated request whose access token expires early, answered 401.
    pub token_expire: f64,
}

/// How late a "slow" answer is, in real milliseconds.
pub const SLOW_ANSWER_MS: u64 = 1500;

impl FaultSpec {
    /// Parses `5xx=0.05,drop=0.02,slow=0.01,job-fail=0.01,token-expire=0.001`.
    pub fn parse(spec: &str) -> Result<FaultSpec, String> {
        let mut faults = FaultSpec::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}' is not of the form NAME=PROBABILITY"))?;
            let p: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("fault '{name}': '{value}' is not a number"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("fault '{name}': {p} is not a probability between 0 and 1"));
            }
            match name.trim() {
                "5xx" => faults.server_error = p,
                "drop" => faults.drop = p,
                "slow" => faults.slow = p,
                "job-fail" => faults.job_fail = p,
                "token-expire" => faults.token_expire = p,
                other => {
                    return Err(format!(
                        "unknown fault '{other}' (known: 5xx, drop, slow, job-fail, token-expire)"
                    ))
                }
            }
        }
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault() {
        let f = FaultSpec::parse("5xx=0.05,drop=0.02,slow=0.01,job-fail=0.01,token-expire=0.001")
            .unwrap();
        assert_eq!(f.server_error, 0.05);
        assert_eq!(f.drop, 0.02);
        assert_eq!(f.slow, 0.01);
        assert_eq!(f.job_fail, 0.01);
        assert_eq!(f.token_expire, 0.001);
    }

    #[test]
    fn rejects_unknown_and_out_of_range() {
        assert!(FaultSpec::parse("boom=0.1").unwrap_err().contains("unknown fault 'boom'"));
        assert!(FaultSpec::parse("5xx=2").unwrap_err().contains("not a probability"));
        assert!(FaultSpec::parse("5xx").unwrap_err().contains("NAME=PROBABILITY"));
        assert!(FaultSpec::parse("drop=x").unwrap_err().contains("not a number"));
    }
}
