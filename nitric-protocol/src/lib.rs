//! The Nitric membrane contract as Rust types.
//!
//! Each module but [`names`] and [`json`] is one protobuf package of the
//! contract, generated at build time from the `.proto` files under `proto/`
//! (written from the published field numbers). Both sides use these types:
//! `nitric-runtime` as the client of the membrane and `nitric-local` as a
//! membrane.
//!
//! [`names`] holds what both sides must spell and compare alike, which the
//! `.proto` files do not say: socket names are case-insensitive, and
//! websocket event types have the names people write. [`json`] converts
//! the `google.protobuf.Struct` values of key/value stores and topics to
//! and from JSON and serde types, the same way on both sides.
//!
//! ```
//! use nitric_protocol::resources::v1::{ResourceIdentifier, ResourceType};
//!
//! let id = ResourceIdentifier { r#type: ResourceType::Websocket as i32, name: "public".into() };
//! assert_eq!(id.r#type, 10);
//! ```

pub mod json;
pub mod names;

/// `nitric.proto.resources.v1`: resource and policy declarations.
pub mod resources {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs)]
        tonic::include_proto!("nitric.proto.resources.v1");
    }
}

/// `nitric.proto.websockets.v1`: websocket event streams and connection calls.
pub mod websockets {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs)]
        tonic::include_proto!("nitric.proto.websockets.v1");
    }
}

/// `nitric.proto.kvstore.v1`: key/value stores holding JSON objects.
pub mod kvstore {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs)]
        tonic::include_proto!("nitric.proto.kvstore.v1");
    }
}

/// `nitric.proto.topics.v1`: publishing to topics and subscribing to them.
pub mod topics {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs)]
        tonic::include_proto!("nitric.proto.topics.v1");
    }
}

/// `nitric.proto.schedules.v1`: handlers the membrane calls on a rate or a
/// cron expression.
///
/// ```
/// use nitric_protocol::schedules::v1::{registration_request::Cadence, RegistrationRequest, ScheduleEvery};
///
/// let request = RegistrationRequest {
///     schedule_name: "cleanup".into(),
///     cadence: Some(Cadence::Every(ScheduleEvery { rate: "5 minutes".into() })),
/// };
/// assert_eq!(request.schedule_name, "cleanup");
/// ```
pub mod schedules {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs)]
        tonic::include_proto!("nitric.proto.schedules.v1");
    }
}

/// `nitric.proto.apis.v1`: HTTP API routes served over streams.
pub mod apis {
    /// Version 1 of the package.
    pub mod v1 {
        // A request is much larger than a registration; both are built once
        // per message, so boxing would buy nothing.
        #![allow(missing_docs, clippy::large_enum_variant)]
        tonic::include_proto!("nitric.proto.apis.v1");
    }
}

pub use prost_types;
