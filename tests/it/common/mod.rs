//! Test helpers: a sandbox on its own thread and runtime, bound to 127.0.0.1:0, a small JSON
//! HTTP client for it, and the real binary with no `ZENDESK_*` variables leaking in.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use base64::Engine as _;
use serde_json::Value;
use zdbulk_sandbox::{self as sandbox, SandboxConfig};

/// A running sandbox; stopped (and its state saved) when dropped.
pub struct TestSandbox {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestSandbox {
    /// Starts a sandbox with this configuration on a free loopback port. It runs on a thread
    /// of its own, so a test blocked on a subprocess cannot starve it.
    pub fn start(config: SandboxConfig) -> TestSandbox {
        let (url_tx, url_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            rt.block_on(async move {
                let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let handle = sandbox::start(config, addr).await.expect("sandbox starts");
                url_tx.send(handle.url.clone()).unwrap();
                let _ = stop_rx.await;
                handle.shutdown().await.expect("sandbox saves its state");
            });
        });
        let url = url_rx.recv().expect("sandbox reports its url");
        TestSandbox { url, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// A sandbox with default knobs but instant jobs (no queue delay, no per-item time).
    pub fn fast() -> TestSandbox {
        TestSandbox::start(fast_config())
    }

    /// A client authenticated with the default API token.
    pub fn api(&self) -> Api {
        Api::new(&self.url, Auth::Basic("admin@sandbox.test".into(), "sandbox-token".into()))
    }
}

/// Default knobs with instant jobs.
pub fn fast_config() -> SandboxConfig {
    SandboxConfig { job_delay_ms: 0, job_item_ms: 0, ..SandboxConfig::default() }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How test requests authenticate.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `email/token:TOKEN`.
    Basic(String, String),
    /// `Bearer TOKEN`.
    Bearer(String),
    /// No Authorization header.
    None,
}

/// One answer: status, headers, and the body as JSON (`Value::String` if it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A header's value as a string, or "" when missing.
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

/// A tiny JSON client for the sandbox.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub auth: Auth,
    client: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, auth: Auth) -> Api {
        Api { base: base.trim_end_matches('/').to_string(), auth, client: reqwest::Client::new() }
    }

    /// The same client with other credentials.
    pub fn with_auth(&self, auth: Auth) -> Api {
        Api { auth, ..self.clone() }
    }

    /// Sends one request; `path_and_query` starts with `/`.
    pub async fn send(&self, method: &str, path_and_query: &str, body: Option<&Value>) -> Answer {
        let url = format!("{}{}", self.base, path_and_query);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, &url);
        match &self.auth {
            Auth::Basic(email, token) => {
                let raw = format!("{email}/token:{token}");
                let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                req = req.header("authorization", format!("Basic {enc}"));
            }
            Auth::Bearer(token) => req = req.header("authorization", format!("Bearer {token}")),
            Auth::None => {}
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, headers, body }
    }

    pub async fn get(&self, p: &str) -> Answer {
        self.send("GET", p, None).await
    }
    pub async fn post(&self, p: &str, body: Value) -> Answer {
        self.send("POST", p, Some(&body)).await
    }
    pub async fn put(&self, p: &str, body: Value) -> Answer {
        self.send("PUT", p, Some(&body)).await
    }
    pub async fn delete(&self, p: &str) -> Answer {
        self.send("DELETE", p, None).await
    }

    /// Polls a job until it is `completed` or `failed` (at most ~20 s) and returns its status.
    pub async fn wait_job(&self, job_id: &str) -> Value {
        for _ in 0..400 {
            let a = self.get(&format!("/api/v2/job_statuses/{job_id}.json")).await;
            assert_eq!(a.status, 200, "job status answer: {:?}", a.body);
            let status = a.body["job_status"]["status"].as_str().unwrap_or("").to_string();
            if status == "completed" || status == "failed" {
                return a.body["job_status"].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("job {job_id} did not finish");
    }
}

/// The real `zdbulk` binary, with every `ZENDESK_*` variable removed.
pub fn zdbulk() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("zdbulk").expect("binary built");
    for (key, _) in std::env::vars() {
        if key.starts_with("ZENDESK_") || key.starts_with("ZDBULK_") {
            cmd.env_remove(key);
        }
    }
    // Never the real ~/.config/zdbulk: a stored login there must not change a test's
    // credentials (tests that log in point this at their own temp dir).
    cmd.env("ZDBULK_CONFIG_DIR", std::env::temp_dir().join("zdbulk-tests-no-config"));
    cmd
}
