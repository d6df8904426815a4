//! Everything generated code names, in one hidden module, so the macros
//! never depend on the runtime's internal layout.
//!
//! This list mirrors the one in `nitric-macros/src/runtime_contract.rs`:
//! the same items, in the same order, and nothing else (a test there
//! compares the two). Rename or add an item in both places.

// Registration: every adapter and declaration is submitted to `inventory`
// with the place it was written.
pub use crate::declaration::Source;
pub use inventory;

// Every handler's adapter.
pub use crate::handler::{BoxFuture, HandlerResult, IntoHandlerResult};

// `#[websocket]`.
pub use crate::handler::FromContext;
pub use crate::registry::{WebsocketAdapter, WebsocketFunction};
pub use crate::websocket::{ConnectContext, DisconnectContext, MessageContext};

// `#[subscribe]`.
pub use crate::registry::SubscribeFunction;
pub use crate::topic::{FromTopicEvent, TopicEvent};

// `#[schedule]`: `ScheduleFunction::every(name, rate, adapter, source)` or
// `::cron(name, expression, adapter, source)`; the adapter reads its
// parameter with `<P as FromScheduleContext>::from_schedule_context`.
pub use crate::registry::ScheduleFunction;
pub use crate::schedule::{FromScheduleContext, ScheduleContext};

// Resource statics: `#[kv_store]` and `#[topic]`.
pub use crate::declaration::ResourceDeclaration;

pub use crate::declaration::{KvPermission, KvStoreDeclaration};

pub use crate::declaration::{TopicDeclaration, TopicPermission};
pub use crate::topic::Topic;

// `#[kv_store]`: the static's type picks the client,
// `<Type as KvClient>::NEEDS` and `<Type>::declared(&DECLARATION)`.
pub use crate::kv::KvClient;

// Typed parameters of `#[websocket]` handlers: a message handler's payload,
// `<P as FromMessage>::__read_for_handler(&context)`, and a connect
// handler's guard, `<G as FromConnect>::__guard_for_handler(&context).await`.
pub use crate::websocket::{FromConnect, FromMessage};

// `#[api]`: the adapter takes the request's context, reads a second
// parameter with `<T as FromRequest>::from_request(&context)` and turns the
// output into an `ApiResult` with `IntoApiResult`; the registration is
// `ApiFunction::new(api, method, path, adapter, source)`.
pub use crate::api::{ApiResult, FromRequest, HttpContext, IntoApiResult};
pub use crate::registry::ApiFunction;

// Action handlers: the adapter turns the output into the reply's response
// with `IntoActionResult`; the registration is `WebsocketFunction::new(
// socket, WebsocketAdapter::Action(adapter), source).with_action(action)`.
pub use crate::websocket::{ActionResult, IntoActionResult};
