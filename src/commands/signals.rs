//! The signals that stop a run cleanly: Ctrl-C, and SIGTERM (what `timeout` and CI systems
//! send).

/// Waits for the next Ctrl-C or SIGTERM; `false` when signals cannot be watched.
pub(crate) async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.is_ok(),
            r = term.recv() => r.is_some(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
