//! The handler router: which application stream handles which websocket
//! event, and the events sent to those streams that still wait for their
//! answer.
//!
//! An application opens one `HandleEvents` stream per (socket, event type).
//! The gateway hands each event to [`HandlerRouter::dispatch`], which sends
//! it down the right stream under a fresh id and resolves when the stream
//! answers that id (see [`super::pairing`]), so any number of events can be
//! outstanding on one stream and they may be answered in any order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nitric_protocol::names::{event_name, socket_key};
use nitric_protocol::websockets::v1::{
    server_message, websocket_event_request::WebsocketEvent, ServerMessage, WebsocketEventRequest,
    WebsocketEventResponse, WebsocketEventType,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::pairing::{PairedStream, Unanswered};
use crate::lock;

/// The sending half of a `HandleEvents` response stream.
pub(crate) type EventSender = mpsc::Sender<Result<ServerMessage, Status>>;

/// Routes websocket events to the live handler streams, keyed by socket
/// (its [`socket_key`]) and event type.
pub(crate) struct HandlerRouter {
    handlers: Mutex<HashMap<HandlerKey, Arc<HandlerStream>>>,
    /// Bumped on every registration, so dispatchers waiting for a handler
    /// (for example while the application restarts) wake up.
    registrations: watch::Sender<u64>,
    shutdown: CancellationToken,
}

/// Why an event got no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DispatchError {
    #[error("no {event} handler is registered for websocket \"{socket}\" (waited {waited:?})")]
    NoHandler {
        socket: String,
        event: &'static str,
        waited: Duration,
    },
    #[error("the {event} handler stream of websocket \"{socket}\" ended before answering")]
    HandlerGone { socket: String, event: &'static str },
    #[error("the {event} handler of websocket \"{socket}\" did not answer within {waited:?} (event_timeout)")]
    Unanswered {
        socket: String,
        event: &'static str,
        waited: Duration,
    },
    #[error("the membrane is shutting down")]
    ShuttingDown,
}

/// A second stream tried to handle an event that already has a handler.
#[derive(Debug, thiserror::Error)]
#[error("websocket \"{socket}\" already has a {event} handler; only one stream may handle each socket and event type")]
pub(crate) struct AlreadyRegistered {
    pub(crate) socket: String,
    pub(crate) event: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HandlerKey {
    socket: String,
    event: WebsocketEventType,
}

impl HandlerKey {
    fn new(socket: &str, event: WebsocketEventType) -> Self {
        Self {
            socket: socket_key(socket),
            event,
        }
    }
}

/// One application stream handling one (socket, event type).
type HandlerStream = PairedStream<ServerMessage, WebsocketEventResponse>;

/// Proof that a stream is the registered handler; unregisters it when dropped,
/// which fails every event still waiting on it.
pub(crate) struct Registration {
    router: Arc<HandlerRouter>,
    key: HandlerKey,
    stream: Arc<HandlerStream>,
}

impl HandlerRouter {
    pub(crate) fn new(shutdown: CancellationToken) -> Self {
        Self {
            handlers: Mutex::new(HashMap::new()),
            registrations: watch::Sender::new(0),
            shutdown,
        }
    }

    /// Makes `events` the handler of `event` on `socket`, unless another live
    /// stream already is. `welcome` is queued on `events` before any event
    /// can be, so the application always hears of its registration first.
    pub(crate) fn register(
        self: &Arc<Self>,
        socket: &str,
        event: WebsocketEventType,
        events: EventSender,
        welcome: ServerMessage,
    ) -> Result<Registration, AlreadyRegistered> {
        let key = HandlerKey::new(socket, event);
        let stream = Arc::new(HandlerStream::new(events));
        {
            let mut handlers = lock(&self.handlers);
            if handlers.contains_key(&key) {
                return Err(AlreadyRegistered {
                    socket: socket.to_owned(),
                    event: event_name(event),
                });
            }
            stream.welcome(welcome);
            handlers.insert(key.clone(), stream.clone());
        }
        self.registrations.send_modify(|count| *count += 1);
        Ok(Registration {
            router: self.clone(),
            key,
            stream,
        })
    }

    /// Sends `event` to the handler of its type on `socket` and waits up to
    /// `answer_within` for the answer. When no handler is registered, waits
    /// up to `wait` for one.
    pub(crate) async fn dispatch(
        &self,
        socket: &str,
        connection_id: &str,
        event: WebsocketEvent,
        wait: Duration,
        answer_within: Duration,
    ) -> Result<WebsocketEventResponse, DispatchError> {
        let event_type = event_type_of(&event);
        let key = HandlerKey::new(socket, event_type);
        let stream =
            self.wait_for_handler(&key, wait)
                .await?
                .ok_or_else(|| DispatchError::NoHandler {
                    socket: socket.to_owned(),
                    event: event_name(event_type),
                    waited: wait,
                })?;
        let unanswered = |why| match why {
            Unanswered::StreamEnded => DispatchError::HandlerGone {
                socket: socket.to_owned(),
                event: event_name(event_type),
            },
            Unanswered::ShuttingDown => DispatchError::ShuttingDown,
        };
        let request = |id| {
            tracing::debug!(
                socket,
                connection_id,
                event = event_name(event_type),
                id,
                "event sent to the application"
            );
            ServerMessage {
                id,
                content: Some(server_message::Content::WebsocketEventRequest(
                    WebsocketEventRequest {
                        socket_name: socket.to_owned(),
                        connection_id: connection_id.to_owned(),
                        websocket_event: Some(event),
                    },
                )),
            }
        };
        let sent = stream
            .send(request, &self.shutdown)
            .await
            .map_err(unanswered)?;
        let answer = tokio::time::timeout(answer_within, sent.answer(&self.shutdown))
            .await
            .map_err(|_| DispatchError::Unanswered {
                socket: socket.to_owned(),
                event: event_name(event_type),
                waited: answer_within,
            })?
            .map_err(unanswered)?;
        tracing::debug!(
            socket,
            connection_id,
            event = event_name(event_type),
            "event answered"
        );
        Ok(answer)
    }

    /// The live handler for `key`, waiting up to `wait` for one to register.
    async fn wait_for_handler(
        &self,
        key: &HandlerKey,
        wait: Duration,
    ) -> Result<Option<Arc<HandlerStream>>, DispatchError> {
        let deadline = tokio::time::Instant::now() + wait;
        // Subscribe before looking, so a registration between the lookup and
        // the wait still wakes us.
        let mut registrations = self.registrations.subscribe();
        loop {
            if let Some(stream) = lock(&self.handlers).get(key) {
                return Ok(Some(stream.clone()));
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, registrations.changed()) => match changed {
                    Ok(Ok(())) => continue,
                    // Timed out, or the router itself is gone.
                    Ok(Err(_)) | Err(_) => return Ok(None),
                },
                () = self.shutdown.cancelled() => return Err(DispatchError::ShuttingDown),
            }
        }
    }

    fn unregister(&self, key: &HandlerKey, stream: &Arc<HandlerStream>) {
        let mut handlers = lock(&self.handlers);
        // A stream only removes itself, never a successor registered after it.
        if handlers
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, stream))
        {
            handlers.remove(key);
        }
    }
}

impl Registration {
    /// Delivers the application's answer to the event sent under `id`.
    /// Returns `false` if no event with that id is waiting.
    pub(crate) fn answer(&self, id: &str, response: WebsocketEventResponse) -> bool {
        self.stream.answer(id, response)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.router.unregister(&self.key, &self.stream);
        self.stream.close();
    }
}

/// The handler type that receives `event`.
pub(crate) fn event_type_of(event: &WebsocketEvent) -> WebsocketEventType {
    match event {
        WebsocketEvent::Connection(_) => WebsocketEventType::Connect,
        WebsocketEvent::Disconnection(_) => WebsocketEventType::Disconnect,
        WebsocketEvent::Message(_) => WebsocketEventType::Message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::websockets::v1::{
        WebsocketConnectionResponse, WebsocketDisconnectionEvent, WebsocketMessageEvent,
    };

    fn router() -> Arc<HandlerRouter> {
        Arc::new(HandlerRouter::new(CancellationToken::new()))
    }

    fn welcome() -> ServerMessage {
        ServerMessage::default()
    }

    /// The next event sent down a stream, past its welcome message.
    async fn next_event(rx: &mut mpsc::Receiver<Result<ServerMessage, Status>>) -> ServerMessage {
        loop {
            let message = rx.recv().await.unwrap().unwrap();
            if message.content.is_some() {
                return message;
            }
        }
    }

    fn message(body: &str) -> WebsocketEvent {
        WebsocketEvent::Message(WebsocketMessageEvent {
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn registration_is_unique_per_socket_and_event_ignoring_case() {
        let router = router();
        let (tx, _rx) = mpsc::channel(1);
        let _first = router
            .register("Public", WebsocketEventType::Message, tx.clone(), welcome())
            .unwrap();
        let refused = router
            .register("PUBLIC", WebsocketEventType::Message, tx.clone(), welcome())
            .err()
            .expect("the second registration is refused");
        assert_eq!(
            refused.to_string(),
            "websocket \"PUBLIC\" already has a message handler; only one stream may handle each socket and event type"
        );
        assert!(router
            .register("public", WebsocketEventType::Connect, tx, welcome())
            .is_ok());
    }

    #[test]
    fn dropping_a_registration_frees_the_slot() {
        let router = router();
        let (tx, _rx) = mpsc::channel(1);
        let first = router
            .register("public", WebsocketEventType::Message, tx.clone(), welcome())
            .unwrap();
        drop(first);
        assert!(router
            .register("public", WebsocketEventType::Message, tx, welcome())
            .is_ok());
    }

    #[tokio::test]
    async fn answers_are_paired_by_id_in_any_order() {
        let router = router();
        let (tx, mut rx) = mpsc::channel(8);
        let registration = router
            .register("public", WebsocketEventType::Message, tx, welcome())
            .unwrap();
        let wait = Duration::from_secs(1);
        let first = router.dispatch("public", "a", message("one"), wait, wait);
        let second = router.dispatch("public", "b", message("two"), wait, wait);
        let answer_both_reversed = async {
            let one = next_event(&mut rx).await;
            let two = next_event(&mut rx).await;
            let reject = |reject| {
                WebsocketEventResponse {
                websocket_response: Some(
                    nitric_protocol::websockets::v1::websocket_event_response::WebsocketResponse::ConnectionResponse(
                        WebsocketConnectionResponse { reject },
                    ),
                ),
            }
            };
            assert!(registration.answer(&two.id, reject(true)));
            assert!(registration.answer(&one.id, reject(false)));
            assert!(!registration.answer("unknown", reject(false)));
        };
        let (first, second, ()) = tokio::join!(first, second, answer_both_reversed);
        let rejected = |answer: WebsocketEventResponse| {
            match answer.websocket_response {
            Some(nitric_protocol::websockets::v1::websocket_event_response::WebsocketResponse::ConnectionResponse(r)) => r.reject,
            None => panic!("empty answer"),
        }
        };
        assert!(!rejected(first.unwrap()));
        assert!(rejected(second.unwrap()));
    }

    #[tokio::test]
    async fn a_handler_registering_while_waiting_receives_the_event() {
        let router = router();
        let dispatch = router.dispatch(
            "public",
            "a",
            WebsocketEvent::Disconnection(WebsocketDisconnectionEvent {}),
            Duration::from_secs(5),
            Duration::from_secs(5),
        );
        let register_late = async {
            tokio::task::yield_now().await;
            let (tx, mut rx) = mpsc::channel(1);
            let registration = router
                .register("public", WebsocketEventType::Disconnect, tx, welcome())
                .unwrap();
            let request = next_event(&mut rx).await;
            registration.answer(&request.id, WebsocketEventResponse::default());
        };
        let (answer, ()) = tokio::join!(dispatch, register_late);
        answer.unwrap();
    }

    #[tokio::test]
    async fn an_ended_stream_fails_its_pending_events() {
        let router = router();
        let (tx, mut rx) = mpsc::channel(1);
        let registration = router
            .register("public", WebsocketEventType::Message, tx, welcome())
            .unwrap();
        let second = Duration::from_secs(1);
        let dispatch = router.dispatch("public", "a", message("x"), second, second);
        let end_stream = async {
            next_event(&mut rx).await;
            drop(registration);
        };
        let (answer, ()) = tokio::join!(dispatch, end_stream);
        assert!(matches!(answer, Err(DispatchError::HandlerGone { .. })));
    }

    #[tokio::test]
    async fn no_handler_gives_up_after_the_wait() {
        let router = router();
        let answer = router
            .dispatch(
                "public",
                "a",
                message("x"),
                Duration::from_millis(10),
                Duration::from_secs(1),
            )
            .await;
        assert!(matches!(answer, Err(DispatchError::NoHandler { .. })));
    }

    #[tokio::test]
    async fn an_unanswered_event_fails_after_the_answer_timeout() {
        let router = router();
        let (tx, mut rx) = mpsc::channel(4);
        let _registration = router
            .register("public", WebsocketEventType::Message, tx, welcome())
            .unwrap();
        let answer = router
            .dispatch(
                "public",
                "a",
                message("x"),
                Duration::from_secs(1),
                Duration::from_millis(20),
            )
            .await;
        assert!(matches!(answer, Err(DispatchError::Unanswered { .. })));
        next_event(&mut rx).await;
    }
}
