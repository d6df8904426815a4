//! The gRPC channel to the membrane.
//!
//! One lazily connected channel per running service: tonic reconnects it on
//! its own after the membrane restarts, so clients never hold a dead one.

use crate::error::Error;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// HTTP/2 flow-control window of one stream.
const STREAM_WINDOW: u32 = 1 << 20;
/// HTTP/2 flow-control window of the whole connection.
const CONNECTION_WINDOW: u32 = 8 << 20;

/// A channel to the membrane at `address`; nothing is sent until first use.
pub(crate) fn connect_lazy(address: &str) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(format!("http://{address}")).map_err(|error| {
        Error::Startup(format!(
            "SERVICE_ADDRESS {address:?} is not a host:port address: {error}"
        ))
    })?;
    Ok(endpoint
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        // Answers, sends and broadcasts all share one HTTP/2 connection:
        // windows wide enough that flow control never holds a burst back.
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        // No keep-alive pings: the Nitric membranes are Go gRPC servers,
        // whose default enforcement closes a connection pinged more often
        // than every 5 minutes ("too_many_pings").
        .connect_lazy())
}
