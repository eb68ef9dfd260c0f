//! The sandbox the scenarios import into, on a thread and runtime of its own.

use std::net::SocketAddr;

use serde_json::Value;
use zdbulk_sandbox::{self as sandbox, SandboxConfig};

/// A sandbox on its own thread and runtime, as a separate server would be.
pub struct Server {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts a sandbox with `config` and waits until it listens.
    pub fn start(config: SandboxConfig) -> Server {
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let handle = sandbox::start(config, addr).await.unwrap();
                url_tx.send(handle.url.clone()).unwrap();
                let _ = stop_rx.await;
                handle.shutdown().await.unwrap();
            });
        });
        Server { url: url_rx.recv().unwrap(), stop: Some(stop_tx), thread: Some(thread) }
    }

    /// What the sandbox has served so far (`/sandbox/stats`).
    pub fn stats(&self) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            reqwest::get(format!("{}/sandbox/stats", self.url)).await.unwrap().json().await.unwrap()
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = self.thread.take().map(|t| t.join());
    }
}
