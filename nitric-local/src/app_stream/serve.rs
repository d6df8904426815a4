//! Serving an application stream over gRPC, as `WebsocketHandler.HandleEvents`
//! and `Subscriber.Subscribe` both do: the stream's first message registers
//! it, after which the membrane sends requests down it and the application
//! answers each by id.
//!
//! The response headers go out at once and every refusal travels as the
//! stream's status, so a client may open the stream and send its
//! registration in either order.

use std::future::Future;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

/// The membrane's side of an application stream: the server messages it
/// sends down the stream, as the gRPC response.
pub(crate) type ServerStream<S> = Pin<Box<dyn Stream<Item = Result<S, Status>> + Send + 'static>>;

/// What an application's message on its stream carries: the `content` of
/// either protocol's `ClientMessage`, as the membrane tells them apart.
pub(crate) enum ClientContent<R, A> {
    Registration(R),
    Answer(A),
    Empty,
}

/// A message an application sends on its stream, in either protocol.
pub(crate) trait AppMessage: Send + 'static {
    /// The membrane's messages on the same stream.
    type ServerMessage: Send + 'static;
    type Registration;
    type Answer;
    /// The refusal when the first message is not a registration.
    const NOT_A_REGISTRATION: &'static str;
    /// The log line when the stream fails before registering.
    const FAILED_BEFORE_REGISTERING: &'static str;

    /// The message's id, and what it carries.
    fn read(self) -> (String, ClientContent<Self::Registration, Self::Answer>);

    /// The answer to the registration sent under `id`.
    fn registered(id: String) -> Self::ServerMessage;
}

/// Implements [`AppMessage`] for the stream messages of one contract
/// package, written where its `ClientMessage`, `ServerMessage`,
/// `RegistrationRequest`, `RegistrationResponse`, `client_message` and
/// `server_message` are in scope. Every app stream of the contract has that
/// shape, in a package of its own; only the answer (a type and the oneof
/// variant of the same name) and the refusals differ.
macro_rules! app_message {
    ($answer:ident, not_a_registration: $not_a_registration:expr, failed_before_registering: $failed:expr $(,)?) => {
        impl $crate::app_stream::AppMessage for ClientMessage {
            type ServerMessage = ServerMessage;
            type Registration = RegistrationRequest;
            type Answer = $answer;
            const NOT_A_REGISTRATION: &'static str = $not_a_registration;
            const FAILED_BEFORE_REGISTERING: &'static str = $failed;

            fn read(
                self,
            ) -> (
                String,
                $crate::app_stream::ClientContent<RegistrationRequest, $answer>,
            ) {
                use $crate::app_stream::ClientContent;
                let content = match self.content {
                    Some(client_message::Content::RegistrationRequest(request)) => {
                        ClientContent::Registration(request)
                    }
                    Some(client_message::Content::$answer(answer)) => ClientContent::Answer(answer),
                    None => ClientContent::Empty,
                };
                (self.id, content)
            }

            fn registered(id: String) -> ServerMessage {
                ServerMessage {
                    id,
                    content: Some(server_message::Content::RegistrationResponse(
                        RegistrationResponse {},
                    )),
                }
            }
        }
    };
}
pub(crate) use app_message;

/// Something routing the answers came across, for the service to log.
pub(crate) enum Note<'a> {
    /// An answer to an id no request waits for.
    UnknownId(&'a str),
    /// A registration on a stream already registered.
    SecondRegistration,
    /// A message with no content.
    Empty(&'a str),
    /// The stream failed.
    Failed(&'a Status),
}

/// Serves the application's stream with `serve`, in a task on `tasks`, and
/// answers with the response stream it sends into (`capacity` messages
/// deep), which ends at `shutdown`.
pub(crate) fn open<C, F>(
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
    request: Request<Streaming<C>>,
    capacity: usize,
    serve: impl FnOnce(Streaming<C>, mpsc::Sender<Result<C::ServerMessage, Status>>) -> F,
) -> Response<ServerStream<C::ServerMessage>>
where
    C: AppMessage,
    F: Future<Output = ()> + Send + 'static,
{
    let from_app = request.into_inner();
    let (to_app, to_app_rx) = mpsc::channel(capacity);
    tasks.spawn(serve(from_app, to_app));
    // Ending the response stream on shutdown lets the gRPC server finish
    // even while applications keep their streams open.
    let server_stream =
        ReceiverStream::new(to_app_rx).take_until(shutdown.clone().cancelled_owned());
    Response::new(Box::pin(server_stream))
}

/// The registration the stream must open with, and the answer to send when
/// it is accepted. `None` if the stream ended or failed first, or opened with
/// something else (refused with INVALID_ARGUMENT).
pub(crate) async fn registration<C: AppMessage>(
    shutdown: &CancellationToken,
    from_app: &mut Streaming<C>,
    to_app: &mpsc::Sender<Result<C::ServerMessage, Status>>,
) -> Option<(C::Registration, C::ServerMessage)> {
    let first = tokio::select! {
        first = from_app.message() => first,
        () = shutdown.cancelled() => return None,
    };
    match first.map(|first| first.map(C::read)) {
        Ok(Some((id, ClientContent::Registration(request)))) => Some((request, C::registered(id))),
        Ok(Some((_, ClientContent::Answer(_) | ClientContent::Empty))) => {
            let refusal = Status::invalid_argument(C::NOT_A_REGISTRATION);
            let _ = to_app.send(Err(refusal)).await;
            None
        }
        Ok(None) => None,
        Err(status) => {
            tracing::debug!(%status, "{}", C::FAILED_BEFORE_REGISTERING);
            None
        }
    }
}

/// Hands every answer on the registered stream to `answer` (which says
/// whether a request waited for its id) until the stream ends, the
/// application stops reading, or the membrane stops. Whatever else arrives
/// goes to `note`, to be logged.
pub(crate) async fn route_answers<C: AppMessage>(
    shutdown: &CancellationToken,
    mut from_app: Streaming<C>,
    to_app: &mpsc::Sender<Result<C::ServerMessage, Status>>,
    answer: impl Fn(&str, C::Answer) -> bool,
    note: impl Fn(Note<'_>),
) {
    loop {
        let message = tokio::select! {
            message = from_app.message() => message,
            // The application stopped reading our requests.
            () = to_app.closed() => return,
            () = shutdown.cancelled() => return,
        };
        match message.map(|message| message.map(C::read)) {
            Ok(Some((id, ClientContent::Answer(response)))) => {
                if !answer(&id, response) {
                    note(Note::UnknownId(&id));
                }
            }
            Ok(Some((_, ClientContent::Registration(_)))) => note(Note::SecondRegistration),
            Ok(Some((id, ClientContent::Empty))) => note(Note::Empty(&id)),
            // The application closed its side: it will answer nothing more.
            Ok(None) => return,
            Err(status) => {
                note(Note::Failed(&status));
                return;
            }
        }
    }
}
