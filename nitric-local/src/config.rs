//! What a local membrane listens on and where it keeps its data.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Settings for [`start`](crate::start).
///
/// Build one from [`Config::default`] and change only what you need:
///
/// ```
/// use nitric_local::Config;
///
/// let config = Config {
///     ws_port: 0, // every websocket gets a free port
///     announce: false,
///     ..Config::default()
/// };
/// assert_eq!(config.grpc_addr.to_string(), "127.0.0.1:50051");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the gRPC services listen; the application's `SERVICE_ADDRESS`.
    /// Port 0 picks a free port (see [`LocalMembrane::grpc_addr`](crate::LocalMembrane::grpc_addr)).
    /// Default `127.0.0.1:50051`, the address the official SDKs assume.
    pub grpc_addr: SocketAddr,
    /// The address the websocket gateways bind to. Default `127.0.0.1`, so
    /// nothing outside this machine can connect unless asked for.
    pub ws_host: IpAddr,
    /// The port of the first websocket's gateway; each further websocket
    /// takes the next port (4001, 4002, ...). 0 gives every websocket a free
    /// port. Default 4001.
    pub ws_port: u16,
    /// The folder holding the key/value database, created if missing.
    /// Default `.nitric`, relative to the working directory.
    pub data_dir: PathBuf,
    /// Print `websocket "NAME" listening on URL` on stdout when a
    /// websocket's gateway starts. Default `true`.
    pub announce: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50051),
            ws_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ws_port: 4001,
            data_dir: PathBuf::from(".nitric"),
            announce: true,
        }
    }
}
