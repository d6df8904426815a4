//! Connect guards: the second parameter of a connect handler, built before
//! the handler runs, which may refuse the connection instead.

use super::{ConnectContext, Reject};
use crate::error::BoxError;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::{ready, Future};
use std::ops::{Deref, DerefMut};

/// A connect handler's second parameter: a reusable check that builds a
/// value from the connection request, or refuses the connection.
///
/// When `from_connect` fails, the handler does not run and the connection is
/// refused; a [`Reject`] is logged at info like a handler's own `Reject`,
/// any other error at warn as a failed guard (the log says the handler did
/// not run). The client sees the refused handshake's
/// HTTP status: 403 from this project's local membranes, 401 on AWS, 500
/// under the Nitric CLI (see docs/handlers.md, "Connect guards").
///
/// Write `from_connect` as an `async fn`; what it awaits must be `Send`,
/// as every handler's future is.
///
/// ```
/// use nitric_runtime::websocket::{ConnectContext, FromConnect, Reject};
///
/// /// A member who connected with a known `?token=`.
/// struct Member {
///     name: String,
/// }
///
/// impl FromConnect for Member {
///     type Rejection = Reject;
///
///     async fn from_connect(ctx: &ConnectContext) -> Result<Self, Reject> {
///         match ctx.query().get("token") {
///             Some("secret-ada") => Ok(Member { name: "ada".to_owned() }),
///             Some(_) => Err(Reject::new("unknown token")),
///             None => Err(Reject::new("connect with ?token=...")),
///         }
///     }
/// }
///
/// #[nitric_runtime::websocket("members", on = "connect")]
/// async fn connect(ctx: ConnectContext, member: Member) {
///     println!("{} is {}", ctx.connection_id(), member.name);
/// }
/// # fn main() {}
/// ```
///
/// Only connect handlers take a guard, after the context:
///
/// ```compile_fail
/// use nitric_runtime::websocket::{DisconnectContext, Query};
///
/// // error: a disconnect handler takes only its context
/// #[nitric_runtime::websocket("public", on = "disconnect")]
/// async fn disconnect(ctx: DisconnectContext, query: Query<String>) {}
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connect guard",
    label = "a connect handler's second parameter must implement `FromConnect`",
    note = "take `Query<T>` for the query read into a `T: serde::Deserialize`, or implement `nitric_runtime::websocket::FromConnect` for `{Self}` to build it from the `ConnectContext` or refuse the connection; a message's payload, such as `Json<T>`, goes on a message handler"
)]
pub trait FromConnect: Sized {
    /// Why the connection is refused: [`Reject`] for a deliberate refusal,
    /// or any error, logged as a failure.
    type Rejection: Into<BoxError>;

    /// Builds the guard's value, or refuses the connection.
    ///
    /// ```
    /// use nitric_runtime::websocket::{ConnectContext, FromConnect, Reject};
    ///
    /// /// The `?lang=` a client asked for, English otherwise.
    /// struct Lang(String);
    ///
    /// impl FromConnect for Lang {
    ///     type Rejection = Reject;
    ///
    ///     async fn from_connect(ctx: &ConnectContext) -> Result<Self, Reject> {
    ///         match ctx.query().get("lang").unwrap_or("en") {
    ///             lang @ ("en" | "fr") => Ok(Lang(lang.to_owned())),
    ///             other => Err(Reject::new(format!("no language {other:?}"))),
    ///         }
    ///     }
    /// }
    ///
    /// #[nitric_runtime::websocket("public", on = "connect")]
    /// async fn connect(_ctx: ConnectContext, Lang(lang): Lang) {
    ///     println!("speaking {lang}");
    /// }
    /// # fn main() {}
    /// ```
    fn from_connect(
        ctx: &ConnectContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// What a generated adapter awaits: [`from_connect`](Self::from_connect)
    /// with its rejection boxed. Its type names neither the associated type
    /// nor the opaque future, so a type without this trait gets one error,
    /// on the parameter, rather than one more for the `.await`.
    #[doc(hidden)]
    fn __guard_for_handler<'a>(ctx: &'a ConnectContext) -> BoxFuture<'a, Result<Self, BoxError>>
    where
        Self: 'a,
    {
        Box::pin(Self::from_connect(ctx).map(|guard| guard.map_err(GuardFailed::boxed)))
    }
}

/// A connect guard failed with an error that is not a [`Reject`], so the
/// handler did not run; generated adapters return it, and the dispatcher
/// logs it. A `Reject` passes as it is, logged as a refusal.
#[derive(Debug)]
pub(crate) struct GuardFailed(BoxError);

impl GuardFailed {
    /// Wraps a [`FromConnect::Rejection`] unless it is a [`Reject`].
    pub(crate) fn boxed(rejection: impl Into<BoxError>) -> BoxError {
        let error = rejection.into();
        if error.is::<Reject>() {
            error
        } else {
            Box::new(Self(error))
        }
    }
}

impl fmt::Display for GuardFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for GuardFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The connection request's query read into `T`, each parameter's first
/// value parsed as the field's type, as
/// [`ConnectContext::query_as`] reads it; a missing or malformed
/// parameter refuses the connection with a [`Reject`] naming it.
///
/// ```
/// use nitric_runtime::websocket::{ConnectContext, Query};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Join {
///     room: String,
///     seat: Option<u32>,
/// }
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext, Query(join): Query<Join>) {
///     println!("{} joins {} at seat {:?}", ctx.connection_id(), join.room, join.seat);
/// }
/// # fn main() {}
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The query, typed.
    ///
    /// ```
    /// use nitric_runtime::websocket::Query;
    ///
    /// assert_eq!(Query("lobby").into_inner(), "lobby");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Query<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + Send> FromConnect for Query<T> {
    type Rejection = Reject;

    fn from_connect(ctx: &ConnectContext) -> impl Future<Output = Result<Self, Reject>> + Send {
        let query = ctx
            .query
            .read_as()
            .map(Query)
            .map_err(|reason| Reject::new(format!("the query does not fit: {reason}")));
        ready(query)
    }
}

#[cfg(test)]
mod tests {
    use super::super::QueryParams;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Seat {
        #[allow(dead_code)] // read to check its type
        room: String,
        #[allow(dead_code)]
        seat: u32,
    }

    fn read(pairs: &[(&str, &str)]) -> Result<Seat, String> {
        pairs
            .iter()
            .map(|(name, value)| (*name, vec![(*value).to_owned()]))
            .collect::<QueryParams>()
            .read_as()
    }

    #[test]
    fn a_guard_failure_is_marked_but_a_reject_is_not() {
        use super::{GuardFailed, Reject};
        let failed = GuardFailed::boxed("the token store is down");
        assert_eq!(failed.to_string(), "the token store is down");
        assert!(failed.downcast_ref::<GuardFailed>().is_some());
        let rejected = GuardFailed::boxed(Reject::new("unknown token"));
        assert!(rejected.downcast_ref::<Reject>().is_some());
    }

    #[test]
    fn a_refusal_names_the_parameter() {
        assert!(read(&[("room", "lobby"), ("seat", "3")]).is_ok());
        assert_eq!(
            read(&[("room", "lobby")]).unwrap_err(),
            "missing field `seat`"
        );
        let error = read(&[("room", "lobby"), ("seat", "third")]).unwrap_err();
        assert!(error.starts_with("parameter `seat`: "), "{error}");
    }
}
