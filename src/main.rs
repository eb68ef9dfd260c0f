//! The `zdbulk` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = zdbulk::cli::Cli::parse();
    let json = cli.wants_json();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: failed to start the async runtime\n  caused by: {err}");
            return ExitCode::from(zdbulk::error::ExitStatus::Api.code());
        }
    };
    match runtime.block_on(zdbulk::run(cli)) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            let status = zdbulk::error::print_error(&err);
            if json {
                println!("{}", zdbulk::error::error_json(&err, status));
            }
            ExitCode::from(status.code())
        }
    }
}
