//! Requests sent down an application stream under fresh ids, and the answers
//! that come back paired with them by id.
//!
//! Both application streams work this way: websocket events go to a
//! `HandleEvents` stream ([`super::router`]), topic messages to a
//! `Subscribe` stream ([`crate::topics`]). Any number of requests may be
//! outstanding on one stream, and they may be answered in any order.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::lock;

/// One application stream: the sending half of its response stream
/// (requests of type `M`), and the requests still waiting for their answer
/// (of type `A`).
pub(crate) struct PairedStream<M, A> {
    requests: mpsc::Sender<Result<M, Status>>,
    pending: Mutex<Pending<A>>,
}

/// Requests sent down a stream and not answered yet, by id.
struct Pending<A> {
    /// Set once the stream has ended: nothing may wait on it any more.
    closed: bool,
    waiting: HashMap<String, oneshot::Sender<A>>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unanswered {
    /// The stream ended before answering (or before the request was sent).
    StreamEnded,
    ShuttingDown,
}

/// A request sent down a stream, waiting for its answer. Dropping it forgets
/// the id, so a late answer counts as one to an unknown id.
pub(crate) struct Sent<'a, A> {
    pending: &'a Mutex<Pending<A>>,
    id: String,
    answer: oneshot::Receiver<A>,
}

impl<M, A> PairedStream<M, A> {
    pub(crate) fn new(requests: mpsc::Sender<Result<M, Status>>) -> Self {
        Self {
            requests,
            pending: Mutex::new(Pending {
                closed: false,
                waiting: HashMap::new(),
            }),
        }
    }

    /// Queues the registration answer; call before any request is sent.
    pub(crate) fn welcome(&self, welcome: M) {
        // A fresh channel has room for it; a closed one means the stream is
        // already gone, which its owner notices on its own.
        let _ = self.requests.try_send(Ok(welcome));
    }

    /// Whether the stream may still receive requests.
    pub(crate) fn is_open(&self) -> bool {
        !self.requests.is_closed() && !lock(&self.pending).closed
    }

    /// Sends the request that `request` builds from a fresh id down the
    /// stream; await [`Sent::answer`] for the answer to that id.
    pub(crate) async fn send(
        &self,
        request: impl FnOnce(String) -> M,
        shutdown: &CancellationToken,
    ) -> Result<Sent<'_, A>, Unanswered> {
        let id = uuid::Uuid::new_v4().to_string();
        let (answer_tx, answer) = oneshot::channel();
        // Waiting before sending, so even the quickest answer finds its request.
        {
            let mut pending = lock(&self.pending);
            if pending.closed {
                return Err(Unanswered::StreamEnded);
            }
            pending.waiting.insert(id.clone(), answer_tx);
        }
        let sent = Sent {
            pending: &self.pending,
            id: id.clone(),
            answer,
        };
        tokio::select! {
            result = self.requests.send(Ok(request(id))) => result.map_err(|_| Unanswered::StreamEnded)?,
            () = shutdown.cancelled() => return Err(Unanswered::ShuttingDown),
        }
        Ok(sent)
    }

    /// Delivers the answer to the request sent under `id`. Returns `false`
    /// if no request with that id is waiting.
    pub(crate) fn answer(&self, id: &str, answer: A) -> bool {
        let waiting = lock(&self.pending).waiting.remove(id);
        match waiting {
            // The waiter may have just given up (shutdown); that is not the
            // application's fault, so the id still counts as known.
            Some(waiter) => {
                let _ = waiter.send(answer);
                true
            }
            None => false,
        }
    }

    /// Fails every request waiting for an answer, and refuses new ones.
    pub(crate) fn close(&self) {
        let mut pending = lock(&self.pending);
        pending.closed = true;
        // Dropping the senders wakes each waiter with an error.
        pending.waiting.clear();
    }
}

impl<A> Sent<'_, A> {
    /// The answer, once the application sends it.
    pub(crate) async fn answer(mut self, shutdown: &CancellationToken) -> Result<A, Unanswered> {
        tokio::select! {
            answer = &mut self.answer => answer.map_err(|_| Unanswered::StreamEnded),
            () = shutdown.cancelled() => Err(Unanswered::ShuttingDown),
        }
    }
}

impl<A> Drop for Sent<'_, A> {
    fn drop(&mut self) {
        lock(self.pending).waiting.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_after_the_waiter_gave_up_is_to_an_unknown_id() {
        let (tx, mut rx) = mpsc::channel(1);
        let stream = PairedStream::<String, bool>::new(tx);
        let shutdown = CancellationToken::new();
        let sent = stream.send(|id| id, &shutdown).await.unwrap();
        let id = rx.recv().await.unwrap().unwrap();
        drop(sent);
        assert!(!stream.answer(&id, true));
    }

    #[tokio::test]
    async fn a_closed_stream_refuses_new_requests() {
        let (tx, _rx) = mpsc::channel(1);
        let stream = PairedStream::<String, bool>::new(tx);
        stream.close();
        assert!(!stream.is_open());
        let refused = stream.send(|id| id, &CancellationToken::new()).await;
        assert_eq!(refused.err(), Some(Unanswered::StreamEnded));
    }
}
