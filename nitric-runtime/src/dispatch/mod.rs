//! Event streams: register with the membrane, then run each event's handler
//! concurrently and answer it by its id.
//!
//! The driver here is shared; each kind of stream (websocket events, topic
//! subscriptions) says how to register, read and answer in its own module.

/// The plumbing of an [`EventStream`] impl: `registration`, `open`, `read`
/// and `reply`. Every package's event stream has the same shape (one
/// bidirectional call; an id and a `content` oneof of the registration or
/// an answer one way, the registration's answer or an event the other), so
/// an impl names only its client and call, how it builds its
/// `RegistrationRequest`, and its event's and answer's variants. Expanded
/// inside the impl, where `ServerMessage`, `ClientMessage`,
/// `RegistrationRequest`, `server_message` and `client_message` are the
/// package's, as the file imports them.
macro_rules! event_stream_plumbing {
    (
        client: $client:ident :: $call:ident,
        registration: $registration:expr,
        event: $event:ident,
        answer: $answer:ident $(,)?
    ) => {
        fn registration(&self) -> ClientMessage {
            let request: RegistrationRequest = ($registration)(self);
            ClientMessage {
                id: String::new(),
                content: Some(client_message::Content::RegistrationRequest(request)),
            }
        }

        fn open(
            &self,
            channel: Channel,
            to_membrane: ReceiverStream<ClientMessage>,
        ) -> BoxFuture<Result<tonic::Streaming<ServerMessage>, tonic::Status>> {
            Box::pin(async move {
                Ok($client::new(channel)
                    .max_decoding_message_size(crate::transport::MAX_DECODED_MESSAGE)
                    .$call(to_membrane)
                    .await?
                    .into_inner())
            })
        }

        fn read(message: ServerMessage) -> ServerContent<Self::Event> {
            match message.content {
                Some(server_message::Content::RegistrationResponse(_)) => ServerContent::Registered,
                Some(server_message::Content::$event(event)) => ServerContent::Event {
                    id: message.id,
                    event,
                },
                None => ServerContent::Unexpected(format!(
                    "a message with no content (id {:?})",
                    message.id
                )),
            }
        }

        fn reply(id: String, answer: Self::Answer) -> ClientMessage {
            ClientMessage {
                id,
                content: Some(client_message::Content::$answer(answer)),
            }
        }
    };
}

mod api;
mod schedule;
mod subscribe;
mod websocket;

pub(crate) use api::ApiStream;
pub(crate) use schedule::ScheduleStream;
pub(crate) use subscribe::SubscribeStream;
pub(crate) use websocket::WebsocketStream;

use crate::error::{BoxError, Error};
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::transport::Channel;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One kind of event stream of the membrane contract.
pub(crate) trait EventStream: Copy + Send + Sync + 'static {
    /// The stream's `ClientMessage`: what the service sends the membrane.
    type ClientMessage: Send + 'static;
    /// The stream's `ServerMessage`: what the membrane sends the service.
    type ServerMessage: Send + 'static;
    /// An event to hand to the handler.
    type Event: Send + 'static;
    /// What the handler's run comes to on the wire.
    type Answer: Send + 'static;

    /// The handler, for logs and errors: "`connect` (src/main.rs:3) for socket \"public\"".
    fn describe(&self) -> String;
    /// The first message on the stream.
    fn registration(&self) -> Self::ClientMessage;
    /// Opens the stream, sending `to_membrane` as the request stream.
    fn open(
        &self,
        channel: Channel,
        to_membrane: ReceiverStream<Self::ClientMessage>,
    ) -> BoxFuture<Result<tonic::Streaming<Self::ServerMessage>, tonic::Status>>;
    /// Sorts a membrane message.
    fn read(message: Self::ServerMessage) -> ServerContent<Self::Event>;
    /// Runs the handler on `event` for `service`; never fails, failures
    /// become answers.
    fn answer(&self, service: &ServiceHandle, event: Self::Event) -> BoxFuture<Self::Answer>;
    /// Wraps an answer for the event with this `id`.
    fn reply(id: String, answer: Self::Answer) -> Self::ClientMessage;
}

/// What a `ServerMessage` carries, sorted.
pub(crate) enum ServerContent<E> {
    Registered,
    Event { id: String, event: E },
    Unexpected(String),
}

/// Why a stream stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The service asked it to stop; in-flight events were answered.
    Stopped,
    /// The membrane ended the stream.
    ClosedByMembrane,
    /// Another stream of the session failed, so this one was given up.
    Abandoned,
}

/// Answers waiting to be sent; past this, handlers wait for the membrane.
const ANSWERS_QUEUED: usize = 256;

/// Registers `stream` and dispatches its events until `stop` (the service
/// stopping) or `abandon` (the session failing elsewhere) is cancelled, or
/// the membrane ends the stream. When stopped, it returns once every event it
/// took was answered; otherwise at once, leaving handlers still running to
/// finish in the background (their answers have nowhere to go), so one hung
/// handler never holds up registering again.
pub(crate) async fn handle_events<S: EventStream>(
    service: &ServiceHandle,
    stream: S,
    stop: CancellationToken,
    abandon: CancellationToken,
) -> Result<StreamEnd, Error> {
    let operation = || format!("register {}", stream.describe());
    let (answers, outgoing) = mpsc::channel(ANSWERS_QUEUED);
    answers
        .send(stream.registration())
        .await
        .expect("the receiver lives until the stream is opened");
    let mut incoming = stream
        .open(service.channel(), ReceiverStream::new(outgoing))
        .await
        .map_err(|status| Error::from_status(operation(), status))?;
    match incoming.message().await {
        Ok(Some(message)) => match S::read(message) {
            ServerContent::Registered => {}
            ServerContent::Event { .. } => return Err(unregistered(operation(), "an event")),
            ServerContent::Unexpected(what) => return Err(unregistered(operation(), &what)),
        },
        Ok(None) => return Err(unregistered(operation(), "the end of the stream")),
        Err(status) => return Err(Error::from_status(operation(), status)),
    }
    tracing::info!(handler = %stream.describe(), "handler registered");
    service.note_registered();

    let running = service.running_counter(stream.describe());
    let in_flight = TaskTracker::new();
    let end = loop {
        let message = tokio::select! {
            () = stop.cancelled() => break Ok(StreamEnd::Stopped),
            () = abandon.cancelled() => break Ok(StreamEnd::Abandoned),
            message = incoming.message() => message,
        };
        match message.map(|message| message.map(S::read)) {
            Ok(Some(ServerContent::Event { id, event })) => {
                let answers = answers.clone();
                let answer = stream.answer(service, event);
                let running = Running::start(&running);
                // Inside the service's scope, so the handler's clients reach it.
                in_flight.spawn(service.scope(async move {
                    let answer = answer.await;
                    drop(running);
                    // A closed answers means the stream is gone; the membrane
                    // fails the event on its side.
                    let _ = answers.send(S::reply(id, answer)).await;
                }));
            }
            Ok(Some(ServerContent::Registered)) => {
                tracing::warn!(handler = %stream.describe(), "ignoring a second registration response")
            }
            Ok(Some(ServerContent::Unexpected(what))) => {
                tracing::warn!(handler = %stream.describe(), message = what, "ignoring an unexpected message")
            }
            Ok(None) => break Ok(StreamEnd::ClosedByMembrane),
            Err(status) => {
                let operation = format!("receive events for {}", stream.describe());
                break Err(Error::from_status(operation, status));
            }
        }
    };
    if matches!(end, Ok(StreamEnd::Stopped)) {
        // Keep the stream open until every taken event is answered; dropping
        // the answers afterwards half-closes it.
        in_flight.close();
        in_flight.wait().await;
    }
    drop(answers);
    end
}

/// One event's handler running; counted for the shutdown report.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn unregistered(operation: String, got: &str) -> Error {
    Error::Startup(format!(
        "{operation}: the membrane answered with {got} instead of a registration response"
    ))
}

/// How one run of a handler ended.
pub(crate) enum Outcome {
    Done,
    Failed(BoxError),
    Panicked(String),
    /// Cancelled after the handler's own `timeout`.
    TimedOut(Duration),
    /// Cancelled once the membrane's deadline for the event passed: its
    /// answer had no one waiting for it any more.
    PastDeadline(Duration),
}

/// Runs a handler's future, turning a panic into [`Outcome::Panicked`] so
/// one bad event never takes the service down, and cancelling it after
/// its own `timeout` or, without one, after the membrane's `deadline`.
pub(crate) async fn guarded(
    run: BoxFuture<Result<(), BoxError>>,
    timeout: Option<Duration>,
    deadline: Duration,
) -> Outcome {
    let caught = AssertUnwindSafe(run).catch_unwind();
    let Ok(ended) = tokio::time::timeout(timeout.unwrap_or(deadline), caught).await else {
        return match timeout {
            Some(own) => Outcome::TimedOut(own),
            None => Outcome::PastDeadline(deadline),
        };
    };
    match ended {
        Ok(Ok(())) => Outcome::Done,
        Ok(Err(error)) => Outcome::Failed(error),
        Err(panic) => Outcome::Panicked(panic_message(&*panic).to_owned()),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload")
}
