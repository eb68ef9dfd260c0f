//! `zdbulk sandbox`: serve a Zendesk-compatible account until interrupted.

use anyhow::Context as _;

use crate::cli::SandboxArgs;
use crate::error::{usage_error, ExitStatus};
use crate::sandbox::{self, FaultSpec, SandboxConfig};

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
        },
    })
}

/// Serves until Ctrl-C, then saves the state (with `--state`) and exits 0.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitStatus> {
    let config = config(&args)?;
    let mut handle = sandbox::start(config, args.addr)
        .await
        .map_err(|e| usage_error(format!("{e:#}")))
        .context("failed to start the sandbox")?;
    // These are the sandbox's own throwaway credentials, printed once so the user can copy
    // them; they are never a real account's secret.
    println!("zdbulk sandbox listening on {}", handle.url);
    println!(
        "  API token:  --url {} with ZENDESK_EMAIL={} ZENDESK_API_TOKEN={}",
        handle.url, args.email, args.api_token
    );
    println!(
        "  OAuth:      ZENDESK_CLIENT_ID={} ZENDESK_CLIENT_SECRET={}",
        args.client_id, args.client_secret
    );
    println!(
        "  curl -u {}/token:{} {}/api/v2/organizations.json",
        args.email, args.api_token, handle.url
    );
    println!("  counters:   {}/sandbox/stats", handle.url);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = handle.wait() => {}
    }
    handle.shutdown().await.context("failed to save the sandbox state")?;
    Ok(ExitStatus::Success)
}
