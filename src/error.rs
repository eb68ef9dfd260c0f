//! Exit codes (the contract of `design.md` §1) and the top-level error printer.

/// How a zdbulk run ended. The numeric codes are part of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every row succeeded.
    Success,
    /// 1: the run finished and some rows failed or were invalid; the report says which.
    RowsFailed,
    /// 2: usage, configuration or input-file error; nothing was written to Zendesk.
    Usage,
    /// 3: the API could not be used (authentication, permission, retries exhausted).
    Api,
    /// 130: interrupted; the run can be resumed.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code for this status.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::RowsFailed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Api => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// An error that already knows which exit status it should produce.
///
/// Commands wrap an error in this (through [`UsageError`] or [`ApiUnavailable`]) when the
/// default mapping — usage error, exit 2 — would be wrong.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    /// What to print after `error:`.
    pub message: String,
    /// The exit status the run ends with.
    pub status: ExitStatus,
}

/// Builds an error that exits with status 2 (usage, configuration or input file).
pub fn usage_error(message: impl Into<String>) -> anyhow::Error {
    StatusError { message: message.into(), status: ExitStatus::Usage }.into()
}

/// Builds an error that exits with status 3 (the API could not be used).
pub fn api_error(message: impl Into<String>) -> anyhow::Error {
    StatusError { message: message.into(), status: ExitStatus::Api }.into()
}

/// Prints `error: <msg>` and one `  caused by: <source>` line per link of the chain on
/// stderr, and returns the exit status the error maps to.
///
/// A broken pipe on stdout (`zdbulk ... | head`) is not an error and exits 0, as ripgrep and
/// xsv do.
pub fn print_error(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitStatus::Success;
            }
        }
    }
    let mut chain = err.chain();
    if let Some(first) = chain.next() {
        eprintln!("error: {first}");
    }
    for cause in chain {
        eprintln!("  caused by: {cause}");
    }
    // `downcast_ref` sees through context layers (a `StatusError` added with `.context()`);
    // the chain finds one that is a cause.
    err.downcast_ref::<StatusError>()
        .map(|s| s.status)
        .or_else(|| err.chain().find_map(|c| c.downcast_ref::<StatusError>().map(|s| s.status)))
        .unwrap_or(ExitStatus::Usage)
}

/// An error and its causes, joined with `: `.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The exit code a run ends with: 130 when it was interrupted, 3 when it stopped on another
/// error, 1 when rows failed, were invalid or skipped, else 0.
pub fn run_status(
    counts: &std::collections::BTreeMap<crate::output::RowStatus, usize>,
    fatal: Option<&anyhow::Error>,
) -> ExitStatus {
    let failures = counts.iter().filter(|(s, _)| s.is_failure()).map(|(_, n)| n).sum::<usize>();
    match fatal {
        Some(e) if e.downcast_ref::<crate::pipeline::engine::Interrupted>().is_some() => {
            ExitStatus::Interrupted
        }
        Some(_) => ExitStatus::Api,
        None if failures > 0 => ExitStatus::RowsFailed,
        None => ExitStatus::Success,
    }
}

/// An error as the one JSON document `--json` prints on stdout: the message, its causes and
/// the exit code.
pub fn error_json(err: &anyhow::Error, status: ExitStatus) -> String {
    let mut chain = err.chain().map(|c| c.to_string());
    let message = chain.next().unwrap_or_default();
    let doc = serde_json::json!({
        "error": message,
        "caused_by": chain.collect::<Vec<_>>(),
        "exit_code": status.code(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_design_contract() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::RowsFailed.code(), 1);
        assert_eq!(ExitStatus::Usage.code(), 2);
        assert_eq!(ExitStatus::Api.code(), 3);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
    }

    #[test]
    fn status_is_found_through_context() {
        let err = api_error("retries exhausted").context("failed to import");
        assert_eq!(print_error(&err), ExitStatus::Api);
        let wrapped = anyhow::anyhow!("401").context(StatusError {
            message: "failed to read fields".into(),
            status: ExitStatus::Api,
        });
        assert_eq!(print_error(&wrapped.context("outer")), ExitStatus::Api);
        let plain = anyhow::anyhow!("bad flag");
        assert_eq!(print_error(&plain), ExitStatus::Usage);
    }
}
