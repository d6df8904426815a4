//! The membrane a service talks to: one at an address, or the local membrane
//! started in this process when `SERVICE_ADDRESS` is unset.

use super::channel::Dial;
use crate::error::Error;
use crate::settings::MembraneLocation;

/// The membrane this service talks to, and how to stop it if it is ours.
pub(crate) struct RunningMembrane {
    pub(crate) address: String,
    #[cfg(feature = "local")]
    embedded: Option<nitric_local::LocalMembrane>,
}

impl RunningMembrane {
    pub(crate) async fn start(location: &MembraneLocation) -> Result<Self, Error> {
        match location {
            MembraneLocation::Remote(address) => Ok(Self {
                address: address.clone(),
                #[cfg(feature = "local")]
                embedded: None,
            }),
            #[cfg(feature = "local")]
            MembraneLocation::Embedded(local) => {
                let config = nitric_local::Config {
                    grpc_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                    ws_port: local.ws_port,
                    data_dir: local.data_dir.clone(),
                    announce: local.announce,
                    allowed_origins: local.allowed_origins.clone(),
                    enforce_policies: local.enforce_policies,
                    ..nitric_local::Config::default()
                };
                let embedded = nitric_local::start(config).await.map_err(|error| {
                    Error::Startup(format!("cannot start the local membrane: {error}"))
                })?;
                tracing::info!(grpc = %embedded.grpc_addr(), "local membrane started (SERVICE_ADDRESS is unset)");
                Ok(Self {
                    address: embedded.grpc_addr().to_string(),
                    embedded: Some(embedded),
                })
            }
        }
    }

    /// How to reach the membrane: in memory when it runs in this process,
    /// so no event crosses the kernel's network stack.
    pub(crate) fn dial(&self) -> Dial {
        #[cfg(feature = "local")]
        if let Some(embedded) = &self.embedded {
            return Dial::InProcess(embedded.in_process());
        }
        Dial::Tcp
    }

    /// Whether this service started the membrane in its own process.
    pub(crate) fn is_embedded(&self) -> bool {
        #[cfg(feature = "local")]
        return self.embedded.is_some();
        #[cfg(not(feature = "local"))]
        false
    }

    /// Makes the embedded membrane take no new connections or messages,
    /// while what handlers still send reaches its clients.
    pub(crate) fn stop_accepting(&self) {
        #[cfg(feature = "local")]
        if let Some(embedded) = &self.embedded {
            embedded.stop_accepting();
        }
    }

    /// Closes the embedded membrane's client connections and waits until
    /// their disconnect events are handled, while this service's streams are
    /// still open; a membrane elsewhere keeps its clients.
    pub(crate) async fn close_connections(&self) {
        #[cfg(feature = "local")]
        if let Some(embedded) = &self.embedded {
            embedded.close_connections().await;
        }
    }

    /// Stops the embedded membrane, if this service started one.
    pub(crate) async fn stop(self) {
        #[cfg(feature = "local")]
        if let Some(embedded) = self.embedded {
            embedded.shutdown().await;
        }
    }
}
