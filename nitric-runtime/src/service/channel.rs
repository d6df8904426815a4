//! The gRPC channel to the membrane.
//!
//! One lazily connected channel per running service: tonic reconnects it on
//! its own after the membrane restarts, so clients never hold a dead one.

use crate::error::Error;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

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
        .connect_lazy())
}
