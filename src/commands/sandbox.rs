//! `zdbulk sandbox`: serve a Zendesk-compatible account until interrupted.

use std::io::Write as _;

use anyhow::Context as _;

use crate::cli::SandboxArgs;
use crate::error::{usage_error, ExitStatus};
use zdbulk_sandbox::{self as sandbox, FaultSpec, SandboxConfig};

/// Builds the sandbox configuration from the flags; refuses nonsense before binding.
fn config(args: &SandboxArgs) -> anyhow::Result<SandboxConfig> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(usage_error(format!(
            "--time-scale {} must be a number greater than 0",
            args.time_scale
        )));
    }
    if args.rate_limit == 0 {
        return Err(usage_error("--rate-limit must be at least 1"));
    }
    if args.job_limit == 0 {
        return Err(usage_error("--job-limit must be at least 1"));
    }
    let faults = match &args.faults {
        Some(spec) => FaultSpec::parse(spec).map_err(|e| usage_error(format!("--faults: {e}")))?,
        None => FaultSpec::default(),
    };
    Ok(SandboxConfig {
        rate_limit: args.rate_limit,
        job_limit: args.job_limit,
        job_delay_ms: args.job_delay_ms,
        job_item_ms: args.job_item_ms,
        time_scale: args.time_scale,
        state_path: args.state.clone(),
        seed_path: args.seed.clone(),
        seed_json: None,
        faults,
        fault_seed: args.fault_seed,
        credentials: sandbox::config::Credentials {
            email: args.email.clone(),
            api_token: args.api_token.clone(),
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            public_client_id: args.public_client_id.clone(),
        },
        bulk_imports: !args.no_bulk_imports,
        access_ttl_secs: args.access_token_ttl,
    })
}

/// Serves until Ctrl-C, then saves the state (with `--state`) and exits 0.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitStatus> {
    let config = config(&args)?;
    let bulk_imports = config.bulk_imports;
    let mut handle = sandbox::start(config, args.addr)
        .await
        .map_err(|e| usage_error(format!("{e:#}")))
        .context("failed to start the sandbox")?;
    // These are the sandbox's own throwaway credentials, printed once so the user can copy
    // them; they are never a real account's secret.
    let banner = format!(
        "zdbulk sandbox listening on {url}\n\
         \x20 API token:  --url {url} with ZENDESK_EMAIL={email} ZENDESK_API_TOKEN={token}\n\
         \x20 OAuth:      ZENDESK_CLIENT_ID={id} ZENDESK_CLIENT_SECRET={secret}\n\
         \x20 curl -u {email}/token:{token} {url}/api/v2/organizations.json\n\
         \x20 counters:   {url}/sandbox/stats\n{bulk}",
        url = handle.url,
        email = args.email,
        token = args.api_token,
        id = args.client_id,
        secret = args.client_secret,
        bulk = if bulk_imports {
            ""
        } else {
            "  bulk user imports are off: bulk user writes answer 403\n"
        },
    );
    // A closed stdout (`zdbulk sandbox | head -1`) must not stop the server: the banner is
    // best effort.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    drop(out);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = handle.wait() => {}
    }
    handle.shutdown().await.context("failed to save the sandbox state")?;
    Ok(ExitStatus::Success)
}
