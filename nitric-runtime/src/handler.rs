//! The contract between generated adapters and user functions: what a
//! handler may take and what it may return.

use crate::error::BoxError;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, the form every adapter returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler's run comes to: `Err` refuses a connection and is logged.
pub type HandlerResult = Result<(), BoxError>;

/// Turns a handler's return value into a [`HandlerResult`].
///
/// Implemented for `()` and for `Result<(), E>` where `E` converts into a
/// boxed error (any `std::error::Error`, `anyhow::Error`, `String`, ...).
///
/// ```
/// use nitric_runtime::IntoHandlerResult;
///
/// assert!(().into_handler_result().is_ok());
/// let failed: Result<(), String> = Err("no room".into());
/// assert_eq!(failed.into_handler_result().unwrap_err().to_string(), "no room");
/// ```
#[diagnostic::on_unimplemented(
    message = "a Nitric handler cannot return `{Self}`",
    label = "return `()` or `Result<(), E>` here",
    note = "handlers return `()` or `Result<(), E>` where `E` converts into `Box<dyn std::error::Error + Send + Sync>`, such as `nitric_runtime::Error`, `anyhow::Error` or `String`"
)]
pub trait IntoHandlerResult {
    /// The result the runtime reports to the membrane.
    fn into_handler_result(self) -> HandlerResult;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> HandlerResult {
        Ok(())
    }
}

impl<E: Into<BoxError>> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> HandlerResult {
        self.map_err(Into::into)
    }
}

/// The parameter a handler takes, built from the event's context `C`.
///
/// Only the context type itself qualifies; the trait exists so that a wrong
/// parameter type is reported on that parameter with this explanation.
///
/// ```compile_fail
/// use nitric_runtime::websocket::MessageContext;
///
/// // error: `MessageContext` is not the context this handler receives
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: MessageContext) {}
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the context this handler receives",
    label = "this handler's parameter must be `{C}`",
    note = "a handler's first parameter is its context, by value: `ConnectContext`, `DisconnectContext` or `MessageContext` (from `nitric_runtime::websocket`) for a #[websocket] handler of that event, `HttpContext` (from `nitric_runtime::api`) for an #[api] route; a connect guard, a message payload or a request body comes second"
)]
pub trait FromContext<C>: Sized {
    /// Builds the parameter.
    fn from_context(context: C) -> Self;
}

impl<C> FromContext<C> for C {
    fn from_context(context: C) -> Self {
        context
    }
}
