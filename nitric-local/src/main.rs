//! `nitric-local`: runs a local Nitric membrane until SIGINT or SIGTERM.

mod cli;

use std::io::{IsTerminal, Write};
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
    let config = match cli::config(std::env::args_os(), from_env) {
        Ok(config) => config,
        // The help on stdout with status 0, or the problem and the usage on
        // stderr with status 2.
        Err(error) => error.exit(),
    };
    let config = nitric_local::Config {
        // The membrane has this process to itself: giving freed memory back
        // to the system touches no one else's allocations.
        trim_memory: true,
        ..config
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person watching a terminal, never as escape
        // codes in a file, a pipe or a CI log.
        .with_ansi(colours_on_stderr())
        .init();
    // Each websocket client holds a descriptor; a failure is logged, and
    // the membrane runs with the limit it has.
    let _ = nitric_local::raise_fd_limit();

    let membrane = match nitric_local::start(config).await {
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

/// Whether stderr is a terminal that wants colours: not when `NO_COLOR`
/// is set (<https://no-color.org>).
fn colours_on_stderr() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
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
