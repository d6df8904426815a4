//! The membrane a service talks to: one at an address, or the local membrane
//! started in this process when `SERVICE_ADDRESS` is unset.

use crate::error::Error;
use crate::local::LocalMembrane;
use crate::settings::MembraneLocation;
use crate::transport::Dial;

/// What names the embedded membrane when it has no listener.
const IN_PROCESS_ADDRESS: &str = "in-process:0";

/// How long a membrane waits for a topic message's answer before it
/// delivers the message again: the embedded membrane's setting, or its
/// default for a membrane elsewhere.
pub(crate) fn topic_answer_timeout(location: &MembraneLocation) -> std::time::Duration {
    match location {
        #[cfg(feature = "local")]
        MembraneLocation::Embedded(config) => config.topic_delivery.answer_timeout,
        MembraneLocation::Remote(_) => REMOTE_TOPIC_ANSWER_TIMEOUT,
    }
}

/// What the local membrane waits for a topic message's answer by default;
/// assumed of a membrane elsewhere, whose setting the service cannot read.
const REMOTE_TOPIC_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a membrane waits for the answer to a schedule's firing: the
/// embedded membrane's setting, or its default for a membrane elsewhere.
pub(crate) fn schedule_answer_timeout(location: &MembraneLocation) -> std::time::Duration {
    match location {
        #[cfg(feature = "local")]
        MembraneLocation::Embedded(config) => config.schedule_timing.answer_timeout,
        MembraneLocation::Remote(_) => REMOTE_SCHEDULE_ANSWER_TIMEOUT,
    }
}

/// What the local membrane waits for a schedule's answer by default.
const REMOTE_SCHEDULE_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The membrane this service talks to, and how to stop it if it is ours.
pub(crate) struct RunningMembrane {
    pub(crate) address: String,
    embedded: Option<LocalMembrane>,
}

impl RunningMembrane {
    pub(crate) async fn start(location: &MembraneLocation) -> Result<Self, Error> {
        match location {
            MembraneLocation::Remote(address) => Ok(Self {
                address: address.clone(),
                embedded: None,
            }),
            #[cfg(feature = "local")]
            MembraneLocation::Embedded(config) => {
                let embedded = nitric_local::start_on_own_runtime((**config).clone())
                    .await
                    .map_err(|error| {
                        Error::Startup(format!("cannot start the local membrane: {error}"))
                    })?;
                Ok(Self::embedded(embedded))
            }
        }
    }

    #[cfg_attr(not(feature = "local"), allow(dead_code))]
    fn embedded(embedded: LocalMembrane) -> Self {
        // Calls go in memory; the address only names the membrane in
        // errors, and is the listener's when one was asked for.
        let address = match embedded.grpc_addr() {
            Some(grpc) => {
                tracing::info!(%grpc, "local membrane started (SERVICE_ADDRESS is unset); its gRPC listener is open to every local process");
                grpc.to_string()
            }
            None => {
                tracing::info!("local membrane started in this process (SERVICE_ADDRESS is unset)");
                IN_PROCESS_ADDRESS.to_owned()
            }
        };
        Self {
            address,
            embedded: Some(embedded),
        }
    }

    /// How to reach the membrane: in memory when it runs in this process,
    /// so no event crosses the kernel's network stack.
    #[cfg_attr(not(feature = "local"), allow(unreachable_code))] // the stand-in is uninhabited
    pub(crate) fn dial(&self) -> Dial {
        match &self.embedded {
            Some(embedded) => Dial::InProcess(embedded.in_process()),
            None => Dial::Tcp,
        }
    }

    /// Whether this service started the membrane in its own process.
    pub(crate) fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Makes the embedded membrane take no new connections or messages,
    /// while what handlers still send reaches its clients.
    pub(crate) fn stop_accepting(&self) {
        if let Some(embedded) = &self.embedded {
            embedded.stop_accepting();
        }
    }

    /// Closes the embedded membrane's client connections and waits until
    /// their disconnect events are handled, while this service's streams are
    /// still open; a membrane elsewhere keeps its clients.
    pub(crate) async fn close_connections(&self) {
        if let Some(embedded) = &self.embedded {
            embedded.close_connections().await;
        }
    }

    /// Stops the embedded membrane, if this service started one.
    pub(crate) async fn stop(self) {
        if let Some(embedded) = self.embedded {
            embedded.shutdown().await;
        }
    }
}
