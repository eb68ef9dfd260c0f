//! `zdbulk auth login | status | logout` and the stored login (issue 11), through the real
//! binary against the sandbox, the test playing the browser: it reads the printed sign-in
//! URL, GETs the sandbox's authorize endpoint and follows the redirect to the listener (or
//! pastes it on stdin).

use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use zdbulk_sandbox::SandboxConfig;

use crate::common::{zdbulk, Api, Auth, TestSandbox};
use crate::import::{fast, read_csv, sandbox};

/// The sandbox's public client (docs/sandbox.md).
pub(crate) const PUBLIC_CLIENT: &str = "zdbulk-cli";

/// A temp dir, a config dir inside it, and a sandbox.
pub(crate) struct AuthEnv {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) sb: TestSandbox,
}

impl AuthEnv {
    pub(crate) fn new(config: SandboxConfig) -> AuthEnv {
        AuthEnv { tmp: tempfile::tempdir().unwrap(), sb: sandbox(config) }
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.tmp.path().join("config")
    }

    /// The binary with the config dir pointed into the temp dir and the keyring off.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = zdbulk();
        cmd.current_dir(self.tmp.path())
            .env("ZDBULK_CONFIG_DIR", self.config_dir())
            .env("ZDBULK_NO_KEYRING", "1")
            .env("ZDBULK_TEST_NO_RETRY_DELAY", "1");
        cmd
    }

    /// The same, as a std command that can be driven while it runs.
    fn spawnable(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("zdbulk"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ZENDESK_") || key.starts_with("ZDBULK_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.tmp.path())
            .env("ZDBULK_CONFIG_DIR", self.config_dir())
            .env("ZDBULK_NO_KEYRING", "1");
        cmd
    }

    /// The stored login file (one per account).
    pub(crate) fn login_file(&self) -> PathBuf {
        let port = self.sb.url.rsplit(':').next().unwrap().trim_end_matches('/');
        self.config_dir().join("logins").join(format!("http_127.0.0.1_{port}.json"))
    }

    /// The stored tokens: (access, refresh).
    pub(crate) fn tokens(&self) -> (String, String) {
        let text = std::fs::read_to_string(self.login_file()).expect("a stored login");
        let v: Value = serde_json::from_str(&text).unwrap();
        let t = &v["tokens"];
        (t["access_token"].as_str().unwrap().into(), t["refresh_token"].as_str().unwrap().into())
    }

    /// `auth login` in listener mode, the test playing the browser. Returns (stdout, stderr).
    pub(crate) async fn login_listening(&self) -> (String, String) {
        let mut child = self
            .spawnable()
            .args(["auth", "login", "--url", &self.sb.url, "--client-id", PUBLIC_CLIENT])
            .args(["--port", "0", "--no-browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let (url, mut seen) = read_sign_in_url(&mut stderr);
        let location = authorize(&url).await;
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        let page = reqwest::get(&location).await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Signed in"));
        std::io::Read::read_to_string(&mut stderr, &mut seen).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {seen}");
        (stdout, seen)
    }

    /// `auth login --paste`, the test pasting the redirect URL on stdin.
    pub(crate) async fn login_pasting(&self) -> (String, String) {
        let mut child = self
            .spawnable()
            .args(["auth", "login", "--url", &self.sb.url, "--client-id", PUBLIC_CLIENT])
            .arg("--paste")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let (url, mut seen) = read_sign_in_url(&mut stderr);
        let location = authorize(&url).await;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{location}").unwrap();
        drop(stdin);
        std::io::Read::read_to_string(&mut stderr, &mut seen).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {seen}");
        (stdout, seen)
    }

    /// `import organizations FILE` with the stored login (no credential variables).
    pub(crate) fn import(&self, file: &Path, run_dir: &Path) -> std::process::Output {
        self.cmd()
            .args(["import", "organizations", file.to_str().unwrap(), "--url", &self.sb.url])
            .arg("--run-dir")
            .arg(run_dir)
            .args(["--quiet", "--batch-size", "10"])
            .output()
            .unwrap()
    }
}

/// Reads stderr up to the sign-in URL; returns it and what was read.
fn read_sign_in_url(stderr: &mut impl std::io::BufRead) -> (String, String) {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no sign-in URL in: {seen}");
        seen.push_str(&line);
        if line.contains("/oauth/authorizations/new?") {
            return (line.trim().to_string(), seen);
        }
    }
}

/// GETs the authorize URL as a browser would and returns where it redirects.
async fn authorize(url: &str) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let answer = client.unwrap().get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "{:?}", answer.text().await);
    answer.headers()["location"].to_str().unwrap().to_string()
}

/// A CSV of `n` organizations named `{prefix} N`.
pub(crate) fn orgs_file(dir: &Path, prefix: &str, n: usize) -> PathBuf {
    let file = dir.join(format!("{prefix}.csv"));
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["name", "external_id"]).unwrap();
    for i in 0..n {
        w.write_record([format!("{prefix} {i:04}"), format!("{prefix}-{i}")]).unwrap();
    }
    w.flush().unwrap();
    file
}

fn created(run_dir: &Path) -> usize {
    read_csv(&run_dir.join("report.csv")).iter().filter(|r| r[3] == "created").count()
}

async fn refreshes(sb: &TestSandbox) -> u64 {
    let stats = sb.api().get("/sandbox/stats").await.body;
    stats["requests"]["POST /oauth/tokens"]["201"].as_u64().unwrap_or(0)
}

/// Tokens that live one second and jobs that take a while, so a run meets several expiries.
fn expiring() -> SandboxConfig {
    SandboxConfig { access_ttl_secs: Some(1), job_delay_ms: 700, ..fast() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_through_the_listener_then_status_then_logout_revokes() {
    let env = AuthEnv::new(fast());
    let (stdout, stderr) = env.login_listening().await;
    assert!(stdout.contains("Logged in to") && stdout.contains("admin@sandbox.test"), "{stdout}");
    assert!(stderr.contains("code_challenge_method=S256"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.login_file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (access, refresh) = env.tokens();

    let status = env.cmd().args(["auth", "status", "--url", &env.sb.url]).output().unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{shown}");
    for part in ["Sandbox Admin <admin@sandbox.test>", "read write", "stored in:     the file"] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    assert!(!shown.contains(&access) && !shown.contains(&refresh));

    let out = env.cmd().args(["auth", "logout", "--url", &env.sb.url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!env.login_file().exists());
    // Revoked at the sandbox: the access token is refused, the refresh token too.
    let api = Api::new(&env.sb.url, Auth::Bearer(access));
    assert_eq!(api.get("/api/v2/organizations.json").await.status, 401);
    let body = json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": PUBLIC_CLIENT});
    let again = Api::new(&env.sb.url, Auth::None).post("/oauth/tokens", body).await;
    assert_eq!(again.body["error"], "invalid_grant");
    // Logged out: status says so and how to log in.
    let status = env.cmd().args(["auth", "status", "--url", &env.sb.url]).assert().code(2);
    let err = String::from_utf8_lossy(&status.get_output().stderr).to_string();
    assert!(err.contains("zdbulk auth login"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_by_pasting_the_redirect_url() {
    let env = AuthEnv::new(fast());
    let (stdout, _) = env.login_pasting().await;
    assert!(stdout.contains("Logged in to"), "{stdout}");
    let (access, _) = env.tokens();
    let api = Api::new(&env.sb.url, Auth::Bearer(access));
    assert_eq!(api.get("/api/v2/organizations.json").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_a_stored_login_survives_repeated_expiry() {
    let env = AuthEnv::new(expiring());
    env.login_listening().await;
    let file = orgs_file(env.tmp.path(), "Expiring", 400);
    let run_dir = env.tmp.path().join("run");
    let before = refreshes(&env.sb).await;
    let out = env.import(&file, &run_dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(created(&run_dir), 400);
    let renewed = refreshes(&env.sb).await - before;
    assert!(renewed >= 2, "the token expired only {renewed} times during the run");
    // The rotated pair was saved: the login still works afterwards.
    env.cmd().args(["auth", "status", "--url", &env.sb.url]).assert().code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_one_login_both_keep_working() {
    let env = AuthEnv::new(expiring());
    env.login_listening().await;
    let runs: Vec<_> = ["First", "Second"]
        .iter()
        .map(|name| {
            let file = orgs_file(env.tmp.path(), name, 300);
            let run_dir = env.tmp.path().join(format!("run-{name}"));
            let mut cmd = env.spawnable();
            cmd.args(["import", "organizations", file.to_str().unwrap(), "--url", &env.sb.url])
                .arg("--run-dir")
                .arg(&run_dir)
                .args(["--quiet", "--batch-size", "10"])
                .env("ZDBULK_TEST_NO_RETRY_DELAY", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (cmd.spawn().unwrap(), run_dir)
        })
        .collect();
    for (child, run_dir) in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(created(&run_dir), 300);
    }
    // Neither spent a refresh token twice (the sandbox would have revoked the login).
    env.cmd().args(["auth", "status", "--url", &env.sb.url]).assert().code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_login_exits_3_and_says_to_log_in_again() {
    let env = AuthEnv::new(fast());
    env.login_listening().await;
    let (access, _) = env.tokens();
    // Revoked behind zdbulk's back (an admin in Zendesk's UI): the pair dies.
    let api = Api::new(&env.sb.url, Auth::Bearer(access));
    let current = api.get("/api/v2/oauth/tokens/current.json").await;
    let id = current.body["token"]["id"].as_u64().unwrap();
    assert_eq!(api.delete(&format!("/api/v2/oauth/tokens/{id}.json")).await.status, 204);

    let file = orgs_file(env.tmp.path(), "Revoked", 5);
    let out = env.import(&file, &env.tmp.path().join("run"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("zdbulk auth login"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_token_overrides_the_stored_login() {
    let env = AuthEnv::new(fast());
    env.login_listening().await;
    let file = orgs_file(env.tmp.path(), "Override", 3);
    let out = env
        .cmd()
        .args(["import", "organizations", file.to_str().unwrap(), "--url", &env.sb.url, "--quiet"])
        .env("ZENDESK_OAUTH_TOKEN", "not-a-live-token")
        .output()
        .unwrap();
    // The bogus CI token is used (and refused), not the working stored login.
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let status = env
        .cmd()
        .args(["auth", "status", "--url", &env.sb.url])
        .env("ZENDESK_OAUTH_TOKEN", "not-a-live-token")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("ZENDESK_OAUTH_TOKEN is set"));
}
