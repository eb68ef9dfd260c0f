//! Secrets stay secret (issue 11, item 5): every command run with distinctive secrets, then
//! every stdout, stderr and file written (run dirs, config dir) is searched for them.

use std::path::Path;

use zdbulk_sandbox::config::Credentials;
use zdbulk_sandbox::SandboxConfig;

use crate::auth::{orgs_file, AuthEnv};
use crate::import::fast;

const CLIENT_SECRET: &str = "CONFSECRET7f3a9c";
const API_TOKEN: &str = "APITOKEN5d2e8b";
const BOGUS_BEARER: &str = "BOGUSBEARER91c4";
const URL_PASSWORD: &str = "URLPASSWORD33aa";

/// Every file under `dir`, as text.
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
}

/// `import organizations CSV --url URL --run-dir DIR --quiet`.
fn import<'a>(csv: &'a str, url: &'a str, run_dir: &'a str) -> [&'a str; 8] {
    ["import", "organizations", csv, "--url", url, "--run-dir", run_dir, "--quiet"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_any_output_or_file() {
    let credentials = Credentials {
        client_secret: CLIENT_SECRET.into(),
        api_token: API_TOKEN.into(),
        ..Credentials::default()
    };
    let env = AuthEnv::new(SandboxConfig { credentials, access_ttl_secs: Some(1), ..fast() });
    let dir = env.tmp.path();
    let url = env.sb.url.clone();
    let file = orgs_file(dir, "Secret", 30);
    let csv = file.to_str().unwrap().to_string();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut secrets: Vec<String> =
        [CLIENT_SECRET, API_TOKEN, BOGUS_BEARER, URL_PASSWORD].map(String::from).to_vec();
    let (stdout, stderr) = env.login_listening().await;
    outputs.push(("login stdout".into(), stdout));
    outputs.push(("login stderr".into(), stderr));
    let (access, refresh) = env.tokens();
    secrets.extend([access, refresh]);

    let mut record = |name: &str, out: &std::process::Output| {
        outputs.push((format!("{name} stdout"), String::from_utf8_lossy(&out.stdout).into()));
        outputs.push((format!("{name} stderr"), String::from_utf8_lossy(&out.stderr).into()));
    };

    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.cmd();
        cmd.args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let api_token = [("ZENDESK_EMAIL", "admin@sandbox.test"), ("ZENDESK_API_TOKEN", API_TOKEN)];
    let client_creds =
        [("ZENDESK_CLIENT_ID", "zdbulk-sandbox"), ("ZENDESK_CLIENT_SECRET", CLIENT_SECRET)];

    let out = run(&["validate", "organizations", &csv, "--url", &url], &api_token);
    record("validate", &out);
    let out = run(&import(&csv, &url, "run-oauth-login"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    record("import (stored login)", &out);
    let (access, refresh) = env.tokens();
    secrets.extend([access, refresh]);
    let out = run(&import(&csv, &url, "run-client-credentials"), &client_creds);
    record("import (client credentials)", &out);
    let out = run(&import(&csv, &url, "run-api-token"), &api_token);
    record("import (api token)", &out);
    let out =
        run(&import(&csv, &url, "run-bogus-bearer"), &[("ZENDESK_OAUTH_TOKEN", BOGUS_BEARER)]);
    assert_eq!(out.status.code(), Some(3));
    record("import (bogus bearer)", &out);
    let wrong = [("ZENDESK_CLIENT_ID", "zdbulk-sandbox"), ("ZENDESK_CLIENT_SECRET", "WRONG")];
    record("import (wrong secret)", &run(&import(&csv, &url, "run-wrong"), &wrong));

    let with_password = url.replacen("http://", &format!("http://me:{URL_PASSWORD}@"), 1);
    let out = run(&["import", "organizations", &csv, "--url", &with_password], &api_token);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("carries credentials"));
    record("import (password in url)", &out);
    let out =
        run(&["import", "organizations", &csv, "--url", "http://zendesk.example"], &api_token);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plain http is only allowed to a loopback address"), "{stderr}");
    record("import (plain http)", &out);

    record("status", &run(&["auth", "status", "--url", &url], &[]));
    record("status --json", &run(&["auth", "status", "--url", &url, "--json"], &[]));
    let (access, refresh) = env.tokens();
    secrets.extend([access, refresh]);
    record("logout", &run(&["auth", "logout", "--url", &url], &[]));

    // The login file holds the tokens by design while logged in; after logout, nothing under
    // the temp dir (run dirs, config dir, inputs) may hold any secret.
    files(dir, &mut outputs);
    for (name, text) in &outputs {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret ({}…) leaked into {name}:\n{text}",
                &secret[..4]
            );
        }
    }
}
