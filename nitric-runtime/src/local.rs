//! Stand-ins for the local membrane's types when the `local` feature
//! leaves `nitric-local` out of the build.
//!
//! Each is uninhabited: no value exists, so the code that handles an
//! embedded membrane still compiles, needs no `cfg` of its own, and
//! compiles to nothing. With the feature, `crate::local` is `nitric_local`
//! itself.

use std::net::SocketAddr;

/// Never exists: without the feature no membrane runs in this process.
pub(crate) enum LocalMembrane {}

impl LocalMembrane {
    pub(crate) fn grpc_addr(&self) -> Option<SocketAddr> {
        match *self {}
    }

    pub(crate) fn in_process(&self) -> InProcessChannel {
        match *self {}
    }

    pub(crate) fn stop_accepting(&self) {
        match *self {}
    }

    pub(crate) async fn close_connections(&self) {
        match *self {}
    }

    pub(crate) async fn shutdown(self) {
        match self {}
    }
}

/// Never exists, as the membrane it would reach.
pub(crate) enum InProcessChannel {}

impl InProcessChannel {
    pub(crate) async fn call(
        &self,
        _request: http::Request<tonic::body::Body>,
    ) -> http::Response<tonic::body::Body> {
        match *self {}
    }
}
