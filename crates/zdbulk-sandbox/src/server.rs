//! Starting and stopping the sandbox: bound to an address, serving on a background task,
//! saving its state periodically and at shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::Layer as _;

use super::config::{bulk_imports_off, SandboxConfig, BULK_IMPORTS_ENV};
use super::router;
use super::state::{Sandbox, Shared};

/// A running sandbox. Call [`SandboxHandle::shutdown`] to stop it and save its state.
pub struct SandboxHandle {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    sandbox: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// How often a sandbox with `--state` saves while requests change things.
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// Locks the state file (if any), binds `addr` (use port 0 for any free port), loads state or
/// seed, and serves. A state file another sandbox holds is an error that says what to do.
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> anyhow::Result<SandboxHandle> {
    let sandbox: Shared = Arc::new(Sandbox::locked(config)?);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr}"))?;
    let local = listener.local_addr().context("failed to read the bound address")?;
    let url = format!("http://{local}");
    sandbox.set_base_url(url.clone());
    sandbox.load()?;

    let app = router::app(sandbox.clone());
    let service = axum::middleware::from_fn(router::strip_json).layer(app);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let saver = sandbox.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(service),
        )
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        });
        let save_loop = async {
            let mut last_writes = 0;
            loop {
                tokio::time::sleep(SAVE_EVERY).await;
                let writes = saver.stats.lock().unwrap_or_else(|e| e.into_inner()).writes;
                if writes != last_writes {
                    last_writes = writes;
                    if let Err(err) = saver.save() {
                        eprintln!("warning: {err:#}");
                    }
                }
            }
        };
        tokio::select! {
            result = serve => {
                if let Err(err) = result {
                    eprintln!("error: sandbox server stopped\n  caused by: {err}");
                }
            }
            _ = save_loop => {}
        }
    });
    Ok(SandboxHandle { url, sandbox, stop: Some(stop_tx), task: Some(task) })
}

impl SandboxHandle {
    /// The sandbox itself (its counters and store), for in-process callers.
    pub fn sandbox(&self) -> &Shared {
        &self.sandbox
    }

    /// Stops serving, waits for open answers, and saves the state.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.sandbox.save()
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) {
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
        }
    }
}

/// The field definitions the files in `samples/` use; an embedded sandbox starts with them.
pub const SAMPLE_SEED: &str = include_str!("sample_seed.json");

/// The configuration of `--sandbox`: state in `<dir>/.zdbulk/sandbox.json`, seeded with the
/// sample field definitions when that file does not exist yet.
///
/// Bulk user imports are on unless [`BULK_IMPORTS_ENV`] says `off`.
pub fn embedded_config(dir: &Path) -> SandboxConfig {
    embedded_config_with(dir, std::env::var(BULK_IMPORTS_ENV).ok().as_deref())
}

/// [`embedded_config`] with the value of [`BULK_IMPORTS_ENV`] given (tests set no variables).
fn embedded_config_with(dir: &Path, bulk_imports_env: Option<&str>) -> SandboxConfig {
    SandboxConfig {
        state_path: Some(dir.join(".zdbulk").join("sandbox.json")),
        seed_json: Some(SAMPLE_SEED.to_string()),
        bulk_imports: !bulk_imports_env.is_some_and(bulk_imports_off),
        ..SandboxConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_account_imports_in_bulk_unless_the_variable_says_off() {
        let dir = Path::new("/nowhere");
        assert!(embedded_config_with(dir, None).bulk_imports);
        assert!(embedded_config_with(dir, Some("on")).bulk_imports);
        assert!(embedded_config_with(dir, Some("")).bulk_imports);
        for off in ["off", "OFF", " false ", "0", "no"] {
            assert!(!embedded_config_with(dir, Some(off)).bulk_imports, "{off:?}");
        }
        assert!(SandboxConfig::default().bulk_imports);
    }
}
