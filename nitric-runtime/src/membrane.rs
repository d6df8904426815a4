//! The channel to the membrane that every client call goes through.
//!
//! One lazily connected channel per running service: tonic reconnects it on
//! its own after the membrane restarts, so clients never hold a dead one.

use crate::error::Error;
use std::sync::RwLock;
use tonic::transport::{Channel, Endpoint};

static CURRENT: RwLock<Option<Channel>> = RwLock::new(None);

/// A channel to the membrane at `address`; nothing is sent until first use.
pub(crate) fn connect_lazy(address: &str) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(format!("http://{address}")).map_err(|error| {
        Error::Startup(format!(
            "SERVICE_ADDRESS {address:?} is not a host:port address: {error}"
        ))
    })?;
    Ok(endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Makes `channel` the one clients use, until [`clear`].
pub(crate) fn install(channel: Channel) {
    *CURRENT
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(channel);
}

/// Forgets the channel once the service stops.
pub(crate) fn clear() {
    *CURRENT
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
}

/// The running service's channel, or [`Error::NotRunning`] for `operation`.
pub(crate) fn channel(operation: impl FnOnce() -> String) -> Result<Channel, Error> {
    CURRENT
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .ok_or_else(|| Error::NotRunning {
            operation: operation(),
        })
}
