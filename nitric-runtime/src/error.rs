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
///         Error::NotFound { .. } => "gone: the connection closed or the key was deleted",
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
    /// The connection, key or resource does not exist (`NOT_FOUND`).
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
    /// A send to a connection whose connect handler is still running. On AWS
    /// the connection exists only once that handler has answered, so the
    /// send would fail there; it fails locally too, before deployment.
    #[error("cannot send to connection \"{connection_id}\" on socket \"{socket}\" while its connect handler is running: the connection exists only once that handler returns. To greet a new connection, publish to a topic from the connect handler and send from the topic's subscriber")]
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

    /// The membrane's gRPC status, for errors that came from it.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::NotFound { status, .. }
            | Self::PermissionDenied { status, .. }
            | Self::Unavailable { status, .. }
            | Self::InvalidArgument { status, .. }
            | Self::Membrane { status, .. } => Some(status),
            _ => None,
        }
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

impl fmt::Display for InvalidService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "this service cannot start:")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}
