//! The error type of every client call and of starting a service.

use std::fmt;

/// A boxed error, what a failing handler returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a call to the membrane, or while starting a service.
///
/// Errors from the membrane keep its gRPC [`Status`](tonic::Status), sorted
/// by the codes an application reacts to:
///
/// ```
/// use nitric_runtime::Error;
///
/// fn describe(error: &Error) -> &'static str {
///     match error {
///         Error::ConnectionGone { .. } => "the connection closed: forget it",
///         Error::NotFound { .. } => "the key or resource does not exist",
///         Error::PermissionDenied { .. } | Error::NotAllowed { .. } => "add the permission",
///         Error::Unavailable { .. } => "the membrane is restarting: try again",
///         _ => "unexpected",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection a websocket call named is gone: closed, dropped, or
    /// never there. Each membrane says so its own way, and all of them
    /// become this variant:
    ///
    /// - this project's local membrane: `NOT_FOUND`;
    /// - the Nitric CLI's membrane (`nitric start`): `UNKNOWN` with
    ///   "could not get connection ...";
    /// - the AWS membrane: `INTERNAL` carrying API Gateway's
    ///   `GoneException` (HTTP 410).
    #[error("{operation}: the connection is gone: {}", .status.message())]
    ConnectionGone {
        /// What was being done, such as `send to connection "x" on socket "public"`.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// The key or resource does not exist (`NOT_FOUND`).
    #[error("{operation}: not found: {}", .status.message())]
    NotFound {
        /// What was being done, such as `send to connection "x" on socket "public"`.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// The membrane refused: the service lacks a permission (`PERMISSION_DENIED`).
    #[error("{operation}: permission denied: {}", .status.message())]
    PermissionDenied {
        /// What was being done.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// The membrane cannot be reached right now (`UNAVAILABLE`).
    #[error("{operation}: membrane unavailable: {}", .status.message())]
    Unavailable {
        /// What was being done.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// The membrane rejected the request's content (`INVALID_ARGUMENT`).
    #[error("{operation}: invalid argument: {}", .status.message())]
    InvalidArgument {
        /// What was being done.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// Any other gRPC status from the membrane.
    #[error("{operation}: membrane answered {:?}: {}", .status.code(), .status.message())]
    Membrane {
        /// What was being done.
        operation: String,
        /// The membrane's answer.
        status: tonic::Status,
    },
    /// The resource was declared without the permission this call needs; the
    /// call was not sent.
    #[error(
        "{resource}: `{permission}` is not allowed; add it to the declaration ({declared_at})"
    )]
    NotAllowed {
        /// The resource, such as `key/value store "connections"`.
        resource: String,
        /// The missing permission.
        permission: &'static str,
        /// Where the resource is declared, `file:line`.
        declared_at: String,
    },
    /// A send to a connection the membrane has not opened yet, which must
    /// keep its data (unlike [`Error::ConnectionGone`]).
    ///
    /// This version's sends no longer return it: a send to a connection
    /// whose connect handler this service runs, or ran moments ago, waits
    /// for the membrane to open it (see
    /// [`ConnectContext::send`](crate::websocket::ConnectContext::send)),
    /// and one being accepted by another instance cannot be told from a
    /// gone one (the membrane answers both alike, as API Gateway answers
    /// 410 to both), so it is [`Error::ConnectionGone`]. Kept so that code
    /// matching it still compiles.
    #[error("cannot send to connection \"{connection_id}\" on socket \"{socket}\" before the membrane has opened it (its connect handler is running or has only just answered): the connection exists only once that handler returns. From its connect handler, send with `ctx.send` on the ConnectContext, which holds the message until the handler has accepted the connection; from elsewhere, publish to a topic from the connect handler and send from the topic's subscriber")]
    ConnectionNotReady {
        /// The socket.
        socket: String,
        /// The connection being accepted.
        connection_id: String,
    },
    /// A value could not be turned into, or read from, a JSON object.
    #[error("{operation}: {reason}")]
    Value {
        /// What was being done.
        operation: String,
        /// Why the value does not fit.
        reason: String,
    },
    /// A client was used outside any running service: not in a handler, not
    /// in a task started with [`spawn`](crate::spawn), not inside
    /// [`ServiceHandle::scope`](crate::ServiceHandle::scope).
    #[error("{operation}: no Nitric service is running for this task; call clients from a handler, from a task started with nitric_runtime::spawn (a plain tokio::spawn leaves the handler's service behind), or inside ServiceHandle::scope; start a service with nitric_runtime::run()")]
    NotRunning {
        /// What was being done.
        operation: String,
    },
    /// The handlers and resources registered in this binary do not form a
    /// valid service; every problem is listed.
    #[error("{0}")]
    InvalidService(InvalidService),
    /// The service could not start.
    #[error("{0}")]
    Startup(String),
    /// Handlers were still running when the shutdown timeout ran out.
    #[error("shutdown timed out after {waited:?} with handlers still running: {}", .running.join("; "))]
    ShutdownTimeout {
        /// How long the service waited.
        waited: std::time::Duration,
        /// Each handler still running, with how many of its events.
        running: Vec<String>,
    },
}

impl Error {
    /// Sorts a gRPC status from the membrane into the matching variant.
    pub(crate) fn from_status(operation: impl Into<String>, status: tonic::Status) -> Self {
        let operation = operation.into();
        match status.code() {
            tonic::Code::NotFound => Self::NotFound { operation, status },
            tonic::Code::PermissionDenied => Self::PermissionDenied { operation, status },
            tonic::Code::Unavailable => Self::Unavailable { operation, status },
            tonic::Code::InvalidArgument => Self::InvalidArgument { operation, status },
            _ => Self::Membrane { operation, status },
        }
    }

    /// Sorts the status of a websocket call on one connection: a gone
    /// connection, in any membrane's words, is [`Error::ConnectionGone`].
    pub(crate) fn from_connection_status(
        operation: impl Into<String>,
        status: tonic::Status,
    ) -> Self {
        if is_gone(&status) {
            Self::ConnectionGone {
                operation: operation.into(),
                status,
            }
        } else {
            Self::from_status(operation, status)
        }
    }

    /// Whether this error says a connection is gone, so the application can
    /// forget it (see [`Error::ConnectionGone`]).
    ///
    /// ```
    /// # async fn example(socket: nitric_runtime::websocket::Websocket) -> Result<(), nitric_runtime::Error> {
    /// match socket.send("2f1c...", "hello").await {
    ///     Err(error) if error.is_gone() => { /* remove it from the members */ }
    ///     other => other?,
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::ConnectionGone { .. })
    }

    /// The membrane's gRPC status, for errors that came from it.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::ConnectionGone { status, .. }
            | Self::NotFound { status, .. }
            | Self::PermissionDenied { status, .. }
            | Self::Unavailable { status, .. }
            | Self::InvalidArgument { status, .. }
            | Self::Membrane { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// Whether a membrane's answer to a call on one connection means the
/// connection is gone; the forms are listed on [`Error::ConnectionGone`].
fn is_gone(status: &tonic::Status) -> bool {
    let message = status.message();
    match status.code() {
        tonic::Code::NotFound => true,
        tonic::Code::Unknown => message.contains("could not get connection"),
        tonic::Code::Internal => message.contains("GoneException") || message.contains("410"),
        _ => false,
    }
}

/// Every problem found in the registered handlers and resources.
///
/// ```
/// use nitric_runtime::InvalidService;
///
/// let invalid = InvalidService { problems: vec!["socket \"public\" has no message handler".into()] };
/// assert_eq!(invalid.to_string(), "this service cannot start:\n  - socket \"public\" has no message handler\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidService {
    /// One sentence per problem, naming the functions, sockets and source
    /// locations involved.
    pub problems: Vec<String>,
}

// Not `#[from]`: that would make the problems the error's source too, and
// reports that walk sources would list them twice.
impl From<InvalidService> for Error {
    fn from(invalid: InvalidService) -> Self {
        Self::InvalidService(invalid)
    }
}

impl fmt::Display for InvalidService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "this service cannot start:")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::{Code, Status};

    fn sorted(code: Code, message: &str) -> Error {
        Error::from_connection_status("send", Status::new(code, message))
    }

    #[test]
    fn every_membranes_gone_connection_is_recognised() {
        // nitric-local
        assert!(sorted(
            Code::NotFound,
            "websocket \"public\" has no open connection \"x\""
        )
        .is_gone());
        // the Nitric CLI's membrane
        assert!(sorted(Code::Unknown, "could not get connection x").is_gone());
        // the AWS membrane, API Gateway's answer to PostToConnection
        assert!(sorted(
            Code::Internal,
            "operation error ApiGatewayManagementApi: PostToConnection, https response error StatusCode: 410, GoneException"
        )
        .is_gone());
    }

    #[test]
    fn other_failures_are_not_gone() {
        assert!(!sorted(Code::Unknown, "connection reset by peer").is_gone());
        assert!(!sorted(Code::Internal, "throttled").is_gone());
        assert!(!sorted(Code::Unavailable, "membrane restarting").is_gone());
        assert!(matches!(
            sorted(Code::PermissionDenied, "no"),
            Error::PermissionDenied { .. }
        ));
        // Outside websocket calls NOT_FOUND keeps its meaning.
        let key = Error::from_status("get", Status::not_found("no key"));
        assert!(matches!(key, Error::NotFound { .. }) && !key.is_gone());
    }
}
