//! Sessions with the membrane: declare everything, open every event stream,
//! run until they end, and start over with backoff when the membrane goes
//! away.

use super::declare;
use crate::dispatch::{
    self, ApiStream, ScheduleStream, StreamEnd, SubscribeStream, WebsocketStream,
};
use crate::error::Error;
use crate::handle::ServiceHandle;
use crate::registry::Registry;
use crate::settings::Environment;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The longest wait between attempts to reach a membrane that went away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs sessions until `stop` is cancelled, the membrane ends a `build`
/// session, or an error that retrying cannot fix.
pub(crate) async fn serve_registry(
    service: &ServiceHandle,
    registry: &Registry,
    environment: Environment,
    stop: &CancellationToken,
) -> Result<(), Error> {
    let mut backoff = Duration::from_millis(100);
    let mut reconnecting = false;
    loop {
        match session(service, registry, environment, stop).await {
            Ok(SessionEnd::Stopped) => return Ok(()),
            Ok(SessionEnd::Closed) if environment == Environment::Build => {
                tracing::info!("requirements collected; exiting");
                return Ok(());
            }
            Ok(SessionEnd::Closed) => {
                tracing::warn!("the membrane ended the event streams; reconnecting");
                backoff = Duration::from_millis(100);
            }
            Err(error) if is_transient(&error) => {
                tracing::warn!(%error, retry_in = ?backoff, "membrane unreachable; retrying");
            }
            // While reconnecting, the membrane may not yet have noticed that
            // our previous streams ended; at startup it means another
            // instance holds the registration, which retrying cannot fix.
            Err(error) if reconnecting && is_registration_conflict(&error) => {
                tracing::warn!(%error, retry_in = ?backoff, "previous registration still held; retrying");
            }
            Err(error) => return Err(error),
        }
        reconnecting = true;
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return Ok(()),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum SessionEnd {
    Stopped,
    Closed,
}

/// One connection's worth of work: declare, open every stream, run until
/// they end. In `build` the membrane ends every stream once it has recorded
/// them; elsewhere one stream ending means the membrane went away, so all of
/// them are ended and the caller reconnects.
async fn session(
    service: &ServiceHandle,
    registry: &Registry,
    environment: Environment,
    stop: &CancellationToken,
) -> Result<SessionEnd, Error> {
    service.reset_registered();
    declare::declare_all(service.channel(), registry).await?;
    // Cancelled when one stream ends early: the others are given up
    // without waiting for their handlers, and the session starts over.
    let abandon = CancellationToken::new();
    // Each stream reads its events on a task of its own, so no stream
    // waits while a worker is busy with another stream's events. Dropping
    // the set (the session given up) stops them all.
    let mut streams = JoinSet::new();
    for stream in WebsocketStream::all(registry) {
        let (service, stop, abandon) = (service.clone(), stop.clone(), abandon.clone());
        streams
            .spawn(async move { dispatch::handle_events(&service, stream, stop, abandon).await });
    }
    for &function in &registry.subscribe_functions {
        let stream = SubscribeStream(function);
        let (service, stop, abandon) = (service.clone(), stop.clone(), abandon.clone());
        streams
            .spawn(async move { dispatch::handle_events(&service, stream, stop, abandon).await });
    }
    for &function in &registry.schedule_functions {
        let stream = ScheduleStream(function);
        let (service, stop, abandon) = (service.clone(), stop.clone(), abandon.clone());
        streams
            .spawn(async move { dispatch::handle_events(&service, stream, stop, abandon).await });
    }

    for &function in &registry.api_functions {
        let stream = ApiStream(function);
        let (service, stop, abandon) = (service.clone(), stop.clone(), abandon.clone());
        streams
            .spawn(async move { dispatch::handle_events(&service, stream, stop, abandon).await });
    }

    let mut first_failure = None;
    let mut closed = false;
    while let Some(joined) = streams.join_next().await {
        let end = joined.unwrap_or_else(|join| {
            Err(Error::Startup(format!(
                "an event stream's task ended abnormally: {join}"
            )))
        });
        match end {
            Ok(StreamEnd::Stopped | StreamEnd::Abandoned) => {}
            Ok(StreamEnd::ClosedByMembrane) => {
                closed = true;
                if environment != Environment::Build {
                    abandon.cancel();
                }
            }
            Err(error) => {
                abandon.cancel();
                first_failure.get_or_insert(error);
            }
        }
    }
    match first_failure {
        Some(error) => Err(error),
        None if stop.is_cancelled() && !closed => Ok(SessionEnd::Stopped),
        None => Ok(SessionEnd::Closed),
    }
}

/// Errors worth retrying: the membrane is restarting or briefly unreachable.
fn is_transient(error: &Error) -> bool {
    error.status().is_some_and(|status| {
        matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::Unknown
                | tonic::Code::Cancelled
                | tonic::Code::Aborted
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Internal
        )
    })
}

fn is_registration_conflict(error: &Error) -> bool {
    error
        .status()
        .is_some_and(|status| status.code() == tonic::Code::AlreadyExists)
}
