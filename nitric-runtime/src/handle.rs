//! The running service a client call goes through.
//!
//! Each service started by [`serve_with`](crate::serve_with) owns its channel
//! to the membrane and the set of connections whose connect handler is
//! running. Nothing about it is global: the dispatcher runs every handler
//! inside [`ServiceHandle::scope`], so the clients a handler uses (its
//! context's, the `#[kv_store]` and `#[topic]` statics, `Websocket::new`)
//! find the service that called it, and two services in one process never
//! see each other's state.

use crate::declaration::KvStoreDeclaration;
use crate::error::Error;
use crate::transport::Channel;
use nitric_protocol::names::socket_key;
use std::collections::VecDeque;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

tokio::task_local! {
    static CURRENT: ServiceHandle;
}

/// A running service: what the clients of a handler send through.
///
/// Handlers never need to name it: they run inside their service's scope.
/// A task a handler spawns leaves that scope; start it with [`spawn`] (or
/// [`ServiceHandle::spawn`]) so its client calls reach the same service.
///
/// ```
/// use nitric_runtime::websocket::MessageContext;
/// use nitric_runtime::ServiceHandle;
/// use std::time::Duration;
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn remind(ctx: MessageContext) {
///     let (socket, id) = (ctx.socket().clone(), ctx.connection_id().to_owned());
///     // Inherits this handler's service, so the send below reaches it.
///     nitric_runtime::spawn(async move {
///         tokio::time::sleep(Duration::from_secs(30)).await;
///         let _ = socket.send(&id, "still there?").await;
///     });
///     assert!(ServiceHandle::current().is_ok());
/// }
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct ServiceHandle {
    shared: Arc<Shared>,
}

struct Shared {
    channel: Channel,
    /// The key/value declarations whose clients keep data per connection
    /// (rooms, connection state), from the registry being served: what a
    /// connection that is gone is cleaned of.
    cleanups: &'static [&'static KvStoreDeclaration],
    /// How long the membrane waits for each kind of event's answer.
    deadlines: Deadlines,
    /// Socket key -> connections whose connect handler is running.
    connecting: Mutex<HashMap<Box<str>, HashSet<Box<str>>>>,
    /// How many connect handlers run: every send checks it, and most
    /// sends happen while it is 0, so they take no lock.
    connecting_count: AtomicUsize,
    /// Connections whose connect handler ended within [`JUST_CONNECTED`],
    /// oldest first: (when, socket key, id).
    just_connected: Mutex<VecDeque<JustConnected>>,
    /// How many event streams the current session has registered.
    registered: watch::Sender<usize>,
    /// Each handler, with how many of its events are running.
    running: Mutex<Vec<(String, Arc<AtomicUsize>)>>,
}

impl ServiceHandle {
    pub(crate) fn new(
        channel: Channel,
        deadlines: Deadlines,
        cleanups: &'static [&'static KvStoreDeclaration],
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                channel,
                cleanups,
                deadlines,
                connecting: Mutex::new(HashMap::new()),
                connecting_count: AtomicUsize::new(0),
                just_connected: Mutex::new(VecDeque::new()),
                registered: watch::Sender::new(0),
                running: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The service running the current task: the one that called the
    /// handler this code runs in, or the one [`scope`](Self::scope) set.
    ///
    /// Fails with [`Error::NotRunning`] outside any service.
    ///
    /// ```
    /// use nitric_runtime::{Error, ServiceHandle};
    ///
    /// // Not inside a handler: no service.
    /// assert!(matches!(ServiceHandle::current(), Err(Error::NotRunning { .. })));
    /// ```
    pub fn current() -> Result<Self, Error> {
        Self::current_for(|| "find the running service".to_owned())
    }

    /// The current service, or [`Error::NotRunning`] naming `operation`.
    pub(crate) fn current_for(operation: impl FnOnce() -> String) -> Result<Self, Error> {
        CURRENT
            .try_with(Self::clone)
            .map_err(|_| Error::NotRunning {
                operation: operation(),
            })
    }

    /// Runs `future` with this service as the current one, so the clients it
    /// uses reach this service.
    ///
    /// ```no_run
    /// # async fn example(service: nitric_runtime::ServiceHandle) -> Result<(), nitric_runtime::Error> {
    /// use nitric_runtime::websocket::Websocket;
    ///
    /// service.scope(Websocket::new("public").send("2f1c...", "hello")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.clone(), future)
    }

    /// Spawns `future` on the tokio runtime inside this service's scope.
    ///
    /// ```no_run
    /// # async fn example(service: nitric_runtime::ServiceHandle) {
    /// service.spawn(async { /* clients here reach `service` */ });
    /// # }
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(CURRENT.scope(self.clone(), future))
    }

    pub(crate) fn channel(&self) -> Channel {
        self.shared.channel.clone()
    }

    /// The declarations whose per-connection data goes when a connection
    /// does.
    pub(crate) fn cleanups(&self) -> &'static [&'static KvStoreDeclaration] {
        self.shared.cleanups
    }

    pub(crate) fn deadlines(&self) -> Deadlines {
        self.shared.deadlines
    }

    /// Marks a connection as connecting until the guard drops.
    pub(crate) fn begin_connecting(&self, socket: &str, connection_id: &str) -> Connecting {
        let socket: Box<str> = socket_key(socket).into();
        self.shared.connecting_count.fetch_add(1, Ordering::AcqRel);
        lock(&self.shared.connecting)
            .entry(socket.clone())
            .or_default()
            .insert(connection_id.into());
        Connecting {
            service: self.clone(),
            socket,
            connection_id: connection_id.into(),
        }
    }

    /// Whether the connect handler of this connection ended within
    /// [`JUST_CONNECTED`]: a membrane that does not know it yet has not
    /// opened it, rather than lost it.
    pub(crate) fn just_connected(&self, socket: &str, connection_id: &str) -> bool {
        let socket = socket_key(socket);
        let mut recent = lock(&self.shared.just_connected);
        forget_older_than(&mut recent, JUST_CONNECTED);
        recent
            .iter()
            .any(|(_, key, id)| **key == *socket && **id == *connection_id)
    }

    /// Whether the connect handler of this connection is still running.
    pub(crate) fn is_connecting(&self, socket: &str, connection_id: &str) -> bool {
        self.shared.connecting_count.load(Ordering::Acquire) > 0
            && lock(&self.shared.connecting)
                .get(socket_key(socket).as_str())
                .is_some_and(|ids| ids.contains(connection_id))
    }

    /// The count of running events of `handler`, the same one across
    /// sessions.
    pub(crate) fn running_counter(&self, handler: String) -> Arc<AtomicUsize> {
        let mut running = lock(&self.shared.running);
        if let Some((_, count)) = running.iter().find(|(known, _)| *known == handler) {
            return count.clone();
        }
        let count = Arc::new(AtomicUsize::new(0));
        running.push((handler, count.clone()));
        count
    }

    /// The handlers with events still running, and how many each.
    pub(crate) fn running_handlers(&self) -> Vec<(String, usize)> {
        lock(&self.shared.running)
            .iter()
            .map(|(handler, count)| (handler.clone(), count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// Completes once no handler of this service is running.
    pub(crate) async fn handlers_finished(&self) {
        // Only at shutdown: a short poll keeps the per-event path free of
        // any notification.
        while !self.running_handlers().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Counts one more event stream registered in this session.
    pub(crate) fn note_registered(&self) {
        self.shared.registered.send_modify(|count| *count += 1);
    }

    /// Starts a new session's count of registered streams.
    pub(crate) fn reset_registered(&self) {
        self.shared.registered.send_replace(0);
    }

    /// Waits until `streams` event streams are registered in one session.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) async fn registered(&self, streams: usize) {
        let mut count = self.shared.registered.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = count.wait_for(|count| *count >= streams).await;
    }
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle").finish_non_exhaustive()
    }
}

/// Spawns `future` inside the current task's service, so a handler's
/// background work reaches the service that ran the handler. Outside any
/// service it is a plain `tokio::spawn`, and client calls in it fail with
/// [`Error::NotRunning`].
///
/// ```no_run
/// use nitric_runtime::websocket::ConnectContext;
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) {
///     let socket = ctx.socket().clone();
///     let id = ctx.connection_id().to_owned();
///     nitric_runtime::spawn(async move {
///         // The connect handler has returned by now: the send can succeed.
///         tokio::time::sleep(std::time::Duration::from_millis(100)).await;
///         let _ = socket.send(&id, "welcome").await;
///     });
/// }
/// # fn main() {}
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match CURRENT.try_with(ServiceHandle::clone) {
        Ok(service) => service.spawn(future),
        Err(_) => tokio::spawn(future),
    }
}

/// How long the membrane waits for the answer to each kind of event: past
/// it, no one awaits the answer, and a handler without a `timeout` of its
/// own is cancelled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    /// A websocket event ([`Settings::event_timeout`](crate::Settings::event_timeout)).
    pub(crate) websocket_event: std::time::Duration,
    /// A topic message, after which the membrane delivers it again.
    pub(crate) topic_message: std::time::Duration,
    /// A schedule's firing.
    pub(crate) schedule_interval: std::time::Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the set consistent, so a panic cannot corrupt it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long after its connect handler ended a connection the membrane does
/// not know is taken as not opened yet rather than gone. The membrane
/// opens it once it has the handler's answer, which crosses the event
/// stream and, locally, completes the handshake: milliseconds, seconds
/// under load. A connection that really left that soon is still cleaned
/// up by its disconnect event.
pub(crate) const JUST_CONNECTED: Duration = Duration::from_secs(10);

/// When a connect handler ended, with the socket key and connection id.
type JustConnected = (Instant, Box<str>, Box<str>);

/// Drops the entries of `recent` older than `age`.
fn forget_older_than(recent: &mut VecDeque<JustConnected>, age: Duration) {
    while recent
        .front()
        .is_some_and(|(when, _, _)| when.elapsed() > age)
    {
        recent.pop_front();
    }
}

/// A connection whose connect handler is running; the mark ends when this
/// drops, however the handler ended, and the connection is then "just
/// connected" for [`JUST_CONNECTED`].
pub(crate) struct Connecting {
    service: ServiceHandle,
    socket: Box<str>,
    connection_id: Box<str>,
}

impl Drop for Connecting {
    fn drop(&mut self) {
        let mut connecting = lock(&self.service.shared.connecting);
        if let Some(ids) = connecting.get_mut(&*self.socket) {
            ids.remove(&*self.connection_id);
            if ids.is_empty() {
                connecting.remove(&*self.socket);
            }
        }
        self.service
            .shared
            .connecting_count
            .fetch_sub(1, Ordering::AcqRel);
        let mut recent = lock(&self.service.shared.just_connected);
        forget_older_than(&mut recent, JUST_CONNECTED);
        recent.push_back((
            Instant::now(),
            self.socket.clone(),
            self.connection_id.clone(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{connect_lazy, Dial};

    fn service() -> ServiceHandle {
        let channel = connect_lazy("127.0.0.1:1", Dial::Tcp).unwrap();
        let deadlines = Deadlines {
            websocket_event: Duration::from_secs(1),
            topic_message: Duration::from_secs(1),
            schedule_interval: Duration::from_secs(1),
        };
        ServiceHandle::new(channel, deadlines, &[])
    }

    #[test]
    fn a_connection_is_just_connected_once_its_connect_handler_ends() {
        let service = service();
        let connecting = service.begin_connecting("Public", "c1");
        assert!(service.is_connecting("public", "c1"));
        assert!(!service.just_connected("public", "c1"));
        drop(connecting);
        assert!(!service.is_connecting("public", "c1"));
        // Socket names compare without case, ids exactly.
        assert!(service.just_connected("PUBLIC", "c1"));
        assert!(!service.just_connected("public", "C1"));
        assert!(!service.just_connected("other", "c1"));
    }

    #[test]
    fn entries_older_than_the_window_are_forgotten() {
        let long_ago = Instant::now() - Duration::from_secs(60);
        let mut recent = VecDeque::from([
            (long_ago, "public".into(), "old".into()),
            (Instant::now(), "public".into(), "new".into()),
        ]);
        forget_older_than(&mut recent, JUST_CONNECTED);
        let left: Vec<&str> = recent.iter().map(|(_, _, id)| &**id).collect();
        assert_eq!(left, ["new"]);
    }
}
