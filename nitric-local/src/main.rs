//! `nitric-local`: runs a local Nitric membrane until SIGINT or SIGTERM.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

/// Exit status for a command line that cannot be run.
const USAGE_ERROR: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let from_env = match nitric_local::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("nitric-local: {error}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let config = match cli::parse(std::env::args().skip(1), from_env) {
        Ok(cli::Command::Run(config)) => config,
        Ok(cli::Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("nitric-local: {error}\n\n{}", cli::USAGE);
            return ExitCode::from(USAGE_ERROR);
        }
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Each websocket client holds a descriptor; a failure is logged, and
    // the membrane runs with the limit it has.
    let _ = nitric_local::raise_fd_limit();

    let membrane = match nitric_local::start(*config).await {
        Ok(membrane) => membrane,
        Err(error) => {
            eprintln!("nitric-local: {error}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = match membrane.grpc_addr() {
            Some(addr) => writeln!(stdout, "nitric-local: gRPC listening on {addr}"),
            None => writeln!(
                stdout,
                "nitric-local: no gRPC listener (NITRIC_LOCAL_GRPC_ADDR=off)"
            ),
        };
        let _ = stdout.flush();
    }

    if let Err(error) = stop_requested().await {
        eprintln!("nitric-local: cannot listen for stop signals: {error}");
        membrane.shutdown().await;
        return ExitCode::FAILURE;
    }
    membrane.shutdown().await;
    ExitCode::SUCCESS
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn stop_requested() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
