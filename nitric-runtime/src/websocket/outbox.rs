//! What is sent to a connection before the membrane has opened it: held
//! while its connect handler runs, then delivered in order once the
//! handler has accepted the connection, or dropped if it refused it.
//!
//! A membrane opens a connection only after the connect handler's answer
//! (API Gateway answers a `POST @connections` during `$connect` with 410
//! Gone), so a send from the handler cannot go out at once, nor can a
//! room's broadcast that reaches the connection meanwhile. Holding both in
//! the runtime makes them work on every membrane alike, for the
//! connections whose connect this service ran.

use super::Websocket;
use crate::error::Error;
use crate::handle::{Held, Opening, ServiceHandle, JUST_CONNECTED};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The first pause before sending again to a connection the membrane has
/// not opened yet: the local membrane opens it within a millisecond or two
/// of the answer.
const FIRST_RETRY: Duration = Duration::from_millis(5);

/// The longest pause between two tries, so a connection opened late under
/// load is still reached soon after.
const LONGEST_RETRY: Duration = Duration::from_millis(250);

/// The messages a connect handler sent to its own connection. The
/// handler's [`ConnectContext`](super::ConnectContext) and the dispatcher
/// share it; the dispatcher [`accept`](Self::accept)s or
/// [`refuse`](Self::refuse)s it once the handler has ended.
pub(crate) struct Outbox {
    state: Mutex<State>,
}

enum State {
    /// The connect handler runs: sends wait here, oldest first.
    Held(VecDeque<Vec<u8>>),
    /// Accepted: a task delivers these, oldest first, and later sends
    /// queue behind them so the connection gets them in order.
    Delivering(VecDeque<Vec<u8>>),
    /// Nothing waits: sends go straight out. `delivered` says whether a
    /// held message has reached the connection, so that it is known to
    /// have opened.
    Open { delivered: bool },
    /// Refused, or its messages could not be delivered: sends fail.
    Closed(&'static str),
}

impl Outbox {
    /// An outbox for a connect handler about to run.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::Held(VecDeque::new())),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole, so a panic cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connect handler accepted the connection: delivers what it sent,
    /// in order, from a task of `service`, so the event stream goes on.
    pub(crate) fn accept(self: &Arc<Self>, service: &ServiceHandle, socket: Websocket, id: String) {
        let mut state = self.state();
        // Closed meanwhile (a disconnect handled first): it stays closed.
        let State::Held(queue) = &mut *state else {
            return;
        };
        if queue.is_empty() {
            *state = State::Open { delivered: false };
            // Under the state's lock, as every change of waiting is, so a
            // send that makes it wait again is not undone here.
            service.done_waiting(socket.name(), &id);
            return;
        }
        let queue = std::mem::take(queue);
        *state = State::Delivering(queue);
        drop(state);
        service.spawn(self.clone().deliver(service.clone(), socket, id));
    }

    /// The connection was refused (its guard or handler failed, panicked
    /// or ran out of time): what it sent is dropped, as no connection will
    /// open to receive it.
    pub(crate) fn refuse(&self, service: &ServiceHandle, socket: &str, connection_id: &str) {
        let mut state = self.state();
        let held = std::mem::replace(&mut *state, State::Closed(REFUSED));
        service.done_waiting(socket, connection_id);
        drop(state);
        if let State::Held(queue) = held {
            if !queue.is_empty() {
                tracing::debug!(
                    socket,
                    connection_id,
                    dropped = queue.len(),
                    "the connection was refused; the messages its connect handler sent are dropped"
                );
            }
        }
    }

    /// Sends the queue, oldest first, until it is empty; then later sends
    /// go straight out.
    async fn deliver(
        self: Arc<Self>,
        service: ServiceHandle,
        socket: Websocket,
        connection_id: String,
    ) {
        // The window in which the membrane not knowing the connection
        // means it has not opened it yet (see `ServiceHandle::just_connected`).
        let give_up_at = Instant::now() + JUST_CONNECTED;
        let mut opened = false;
        loop {
            let data = {
                let mut state = self.state();
                let next = match &mut *state {
                    State::Delivering(queue) => queue.pop_front(),
                    // Its disconnect closed it; nothing waits any more.
                    _ => {
                        service.done_waiting(socket.name(), &connection_id);
                        return;
                    }
                };
                let Some(data) = next else {
                    *state = State::Open { delivered: opened };
                    service.done_waiting(socket.name(), &connection_id);
                    return;
                };
                data
            };
            let deadline = if opened { Instant::now() } else { give_up_at };
            match self
                .send_until_open(&service, &socket, &connection_id, data, deadline)
                .await
            {
                Delivery::Sent => opened = true,
                Delivery::Departed => {
                    tracing::debug!(socket = socket.name(), connection_id, "the connection disconnected before what was sent to it while it opened was delivered");
                    service.done_waiting(socket.name(), &connection_id);
                    return;
                }
                Delivery::Failed(error) if not_open(&error) => {
                    let mut state = self.state();
                    let left = match &*state {
                        State::Delivering(queue) => queue.len(),
                        _ => 0,
                    };
                    *state = State::Closed(LOST);
                    service.done_waiting(socket.name(), &connection_id);
                    drop(state);
                    let lost = left + 1;
                    if opened {
                        // It was open and has gone: the client left, as
                        // any client may while it is being sent to.
                        tracing::debug!(socket = socket.name(), connection_id, lost, "the connection closed before the messages sent while it opened were all delivered");
                    } else {
                        tracing::warn!(socket = socket.name(), connection_id, lost, window = ?JUST_CONNECTED, error = %error, "the membrane did not open the connection in time for the messages sent to it while it opened; they are lost");
                    }
                    return;
                }
                Delivery::Failed(error) => {
                    tracing::warn!(socket = socket.name(), connection_id, error = %error, "a message sent to a connection while it opened could not be delivered; it is dropped, the next ones are still sent");
                }
            }
        }
    }

    /// Sends `data` straight to the membrane (not held again), trying again
    /// after a pause, longer each time, while the membrane has not opened
    /// the connection, `deadline` is ahead, and its disconnect has not
    /// closed this outbox.
    async fn send_until_open(
        &self,
        service: &ServiceHandle,
        socket: &Websocket,
        connection_id: &str,
        mut data: Vec<u8>,
        deadline: Instant,
    ) -> Delivery {
        let mut pause = FIRST_RETRY;
        loop {
            match socket.send_to_membrane(service, connection_id, data).await {
                Ok(()) => return Delivery::Sent,
                Err((error, back)) if not_open(&error) && Instant::now() + pause < deadline => {
                    data = back;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_RETRY);
                    if !matches!(*self.state(), State::Delivering(_)) {
                        return Delivery::Departed;
                    }
                }
                Err((error, _)) => return Delivery::Failed(error),
            }
        }
    }
}

/// How one message's delivery ended.
enum Delivery {
    Sent,
    /// The connection's disconnect arrived while it was being tried.
    Departed,
    Failed(Error),
}

impl Opening for Outbox {
    fn hold(
        self: Arc<Self>,
        service: &ServiceHandle,
        socket: &str,
        connection_id: &str,
        data: Vec<u8>,
    ) -> Held {
        let mut state = self.state();
        match &mut *state {
            State::Held(queue) | State::Delivering(queue) => {
                queue.push_back(data);
                Held::Queued
            }
            // Accepted with nothing to deliver, and the membrane did not
            // know it a moment ago: this waits for it to open, and later
            // sends wait behind it (made to wait under the state's lock).
            State::Open { delivered: false } => {
                *state = State::Delivering(VecDeque::from([data]));
                service.begin_waiting(socket, connection_id, self.clone());
                drop(state);
                let client = Websocket::in_service(socket, service.clone());
                let delivery =
                    self.clone()
                        .deliver(service.clone(), client, connection_id.to_owned());
                service.spawn(delivery);
                Held::Queued
            }
            // It has opened since the caller looked (what waited was
            // delivered): the caller sends, and that answer is final.
            State::Open { delivered: true } => Held::SendNow(data),
            State::Closed(_) => Held::Closed,
        }
    }

    fn close(&self) {
        *self.state() = State::Closed(DEPARTED);
    }
}

/// Why a send fails once the connection's disconnect has arrived.
const DEPARTED: &str = "it has disconnected";

/// Why a send through a refused connection's context fails.
const REFUSED: &str = "its connect handler refused it";
/// Why a send fails after the queue could not be delivered.
const LOST: &str = "the membrane never opened it, or it closed, before the messages its connect handler sent were delivered";

/// Whether `error` says the membrane does not know the connection: not
/// opened yet, or gone.
fn not_open(error: &Error) -> bool {
    matches!(error, Error::ConnectionNotReady { .. }) || error.is_gone()
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.state() {
            State::Held(queue) => format!("holding {}", queue.len()),
            State::Delivering(queue) => format!("delivering, {} left", queue.len()),
            State::Open { delivered } => format!("open, delivered: {delivered}"),
            State::Closed(why) => format!("closed: {why}"),
        };
        f.debug_struct("Outbox").field("state", &state).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::unconnected_service as service;

    #[test]
    fn sends_are_held_until_the_answer_and_refused_after_a_refusal() {
        let service = service();
        let outbox = Outbox::new();
        let hold = |data: &[u8]| outbox.clone().hold(&service, "public", "c1", data.to_vec());
        assert!(matches!(hold(b"one"), Held::Queued));
        assert!(matches!(hold(b"two"), Held::Queued));
        assert_eq!(format!("{outbox:?}"), r#"Outbox { state: "holding 2" }"#);
        outbox.refuse(&service, "public", "c1");
        assert!(matches!(hold(b"late"), Held::Closed));
        assert_eq!(
            format!("{outbox:?}"),
            format!(r#"Outbox {{ state: "closed: {REFUSED}" }}"#)
        );
    }

    #[test]
    fn with_nothing_held_an_accepted_outbox_sends_straight_out() {
        let service = service();
        let outbox = Outbox::new();
        service.begin_waiting("public", "c1", outbox.clone());
        let socket = Websocket::in_service("public", service.clone());
        // Nothing to deliver, so no task (and no tokio runtime) is needed;
        // sends no longer wait for it, and go straight to the membrane.
        outbox.accept(&service, socket, "c1".to_owned());
        assert!(service.waiting("public", "c1").is_none());
        assert_eq!(
            format!("{outbox:?}"),
            r#"Outbox { state: "open, delivered: false" }"#
        );
        // A refusal after an accept cannot happen; if it did, it would
        // only close the outbox.
        outbox.refuse(&service, "public", "c1");
        assert!(matches!(
            outbox.clone().hold(&service, "public", "c1", Vec::new()),
            Held::Closed
        ));
    }
}
