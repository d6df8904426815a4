//! The runtime on a running service, through its public API only: every
//! test starts its own service with the test kit, and real websocket
//! clients talk to it. One test binary, one module per area, so the crate
//! links its tests once; the handlers of every module are linked into it,
//! each module on sockets, stores and topics of its own.

mod people;
mod actions;
mod apis;
mod connect_sends;
mod rooms_and_state;
mod schedules;
mod test_kit;
mod typed_handlers;
