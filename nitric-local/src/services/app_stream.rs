//! What `WebsocketHandler.HandleEvents` and `Subscriber.Subscribe` have in
//! common: a bidirectional application stream whose first message registers
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
use tonic::{Request, Response, Status, Streaming};

use super::Parts;

/// The membrane's side of an application stream.
pub(super) type Outgoing<S> = Pin<Box<dyn Stream<Item = Result<S, Status>> + Send + 'static>>;

/// What an application's message on its stream carries.
pub(super) enum Incoming<R, A> {
    Registration(R),
    Answer(A),
    Empty,
}

/// A message an application sends on its stream, in either protocol.
pub(super) trait AppMessage: Send + 'static {
    /// The membrane's messages on the same stream.
    type Server: Send + 'static;
    type Registration;
    type Answer;
    /// The refusal when the first message is not a registration.
    const NOT_A_REGISTRATION: &'static str;
    /// The log line when the stream fails before registering.
    const FAILED_BEFORE_REGISTERING: &'static str;

    /// The message's id, and what it carries.
    fn read(self) -> (String, Incoming<Self::Registration, Self::Answer>);

    /// The answer to the registration sent under `id`.
    fn registered(id: String) -> Self::Server;
}

/// Something routing the answers came across, for the service to log.
pub(super) enum Note<'a> {
    /// An answer to an id no request waits for.
    UnknownId(&'a str),
    /// A registration on a stream already registered.
    SecondRegistration,
    /// A message with no content.
    Empty(&'a str),
    /// The stream failed.
    Failed(&'a Status),
}

/// Serves the application's stream with `serve`, in a task of the
/// membrane, and answers with the response stream it sends into (`capacity`
/// messages deep).
pub(super) fn open<C, F>(
    parts: &Parts,
    request: Request<Streaming<C>>,
    capacity: usize,
    serve: impl FnOnce(Parts, Streaming<C>, mpsc::Sender<Result<C::Server, Status>>) -> F,
) -> Response<Outgoing<C::Server>>
where
    C: AppMessage,
    F: Future<Output = ()> + Send + 'static,
{
    let incoming = request.into_inner();
    let (sender, outgoing) = mpsc::channel(capacity);
    parts.tasks.spawn(serve(parts.clone(), incoming, sender));
    // Ending the response stream on shutdown lets the gRPC server finish
    // even while applications keep their streams open.
    let outgoing =
        ReceiverStream::new(outgoing).take_until(parts.shutdown.clone().cancelled_owned());
    Response::new(Box::pin(outgoing))
}

/// The registration the stream must open with, and the answer to send when
/// it is accepted. `None` if the stream ended or failed first, or opened with
/// something else (refused with INVALID_ARGUMENT).
pub(super) async fn registration<C: AppMessage>(
    parts: &Parts,
    incoming: &mut Streaming<C>,
    outgoing: &mpsc::Sender<Result<C::Server, Status>>,
) -> Option<(C::Registration, C::Server)> {
    let first = tokio::select! {
        first = incoming.message() => first,
        () = parts.shutdown.cancelled() => return None,
    };
    match first.map(|first| first.map(C::read)) {
        Ok(Some((id, Incoming::Registration(request)))) => Some((request, C::registered(id))),
        Ok(Some((_, Incoming::Answer(_) | Incoming::Empty))) => {
            let refusal = Status::invalid_argument(C::NOT_A_REGISTRATION);
            let _ = outgoing.send(Err(refusal)).await;
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
pub(super) async fn route_answers<C: AppMessage>(
    parts: &Parts,
    mut incoming: Streaming<C>,
    outgoing: &mpsc::Sender<Result<C::Server, Status>>,
    answer: impl Fn(&str, C::Answer) -> bool,
    note: impl Fn(Note<'_>),
) {
    loop {
        let message = tokio::select! {
            message = incoming.message() => message,
            // The application stopped reading our requests.
            () = outgoing.closed() => return,
            () = parts.shutdown.cancelled() => return,
        };
        match message.map(|message| message.map(C::read)) {
            Ok(Some((id, Incoming::Answer(response)))) => {
                if !answer(&id, response) {
                    note(Note::UnknownId(&id));
                }
            }
            Ok(Some((_, Incoming::Registration(_)))) => note(Note::SecondRegistration),
            Ok(Some((id, Incoming::Empty))) => note(Note::Empty(&id)),
            // The application closed its side: it will answer nothing more.
            Ok(None) => return,
            Err(status) => {
                note(Note::Failed(&status));
                return;
            }
        }
    }
}
