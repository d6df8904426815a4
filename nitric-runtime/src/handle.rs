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
use std::collections::HashMap;
use std::collections::VecDeque;
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
    /// Socket key -> connections that sends must wait for: their connect
    /// handler runs, or what was sent meanwhile is still being delivered.
    waiting: Mutex<Waiting>,
    /// How many connections `waiting` holds: every send checks it, and
    /// most sends happen while it is 0, so they take no lock.
    waiting_count: AtomicUsize,
    /// Connections whose connect handler ended within [`JUST_CONNECTED`],
    /// oldest first.
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
                waiting: Mutex::new(HashMap::new()),
                waiting_count: AtomicUsize::new(0),
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

    /// Marks a connection as connecting until the guard drops. Sends to
    /// it wait in `opening` from now until it is
    /// [done waiting](Self::done_waiting).
    pub(crate) fn begin_connecting(
        &self,
        socket: &str,
        connection_id: &str,
        opening: Arc<dyn Opening>,
    ) -> Connecting {
        self.begin_waiting(socket, connection_id, opening.clone());
        Connecting {
            service: self.clone(),
            socket: socket_key(socket).into(),
            connection_id: connection_id.into(),
            opening,
        }
    }

    /// Sends to this connection wait in `opening` until it is
    /// [done waiting](Self::done_waiting).
    pub(crate) fn begin_waiting(
        &self,
        socket: &str,
        connection_id: &str,
        opening: Arc<dyn Opening>,
    ) {
        let mut waiting = lock(&self.shared.waiting);
        let replaced = waiting
            .entry(socket_key(socket).into())
            .or_default()
            .insert(connection_id.into(), opening);
        // Counted under the lock, so a reader that sees 0 sees no entry.
        if replaced.is_none() {
            self.shared.waiting_count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Nothing waits for this connection any more: sends go straight to
    /// the membrane.
    pub(crate) fn done_waiting(&self, socket: &str, connection_id: &str) {
        let socket = socket_key(socket);
        let mut waiting = lock(&self.shared.waiting);
        let Some(ids) = waiting.get_mut(socket.as_str()) else {
            return;
        };
        if ids.remove(connection_id).is_some() {
            self.shared.waiting_count.fetch_sub(1, Ordering::AcqRel);
        }
        if ids.is_empty() {
            waiting.remove(socket.as_str());
        }
    }

    /// Where sends to this connection wait, while its connect handler runs
    /// or what was sent meanwhile is being delivered.
    pub(crate) fn waiting(&self, socket: &str, connection_id: &str) -> Option<Arc<dyn Opening>> {
        if self.shared.waiting_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        lock(&self.shared.waiting)
            .get(socket_key(socket).as_str())?
            .get(connection_id)
            .cloned()
    }

    /// Where sends wait for a connection whose connect handler ended within
    /// [`JUST_CONNECTED`]: a membrane that does not know it yet has not
    /// opened it, rather than lost it.
    pub(crate) fn just_connected(
        &self,
        socket: &str,
        connection_id: &str,
    ) -> Option<Arc<dyn Opening>> {
        let socket = socket_key(socket);
        let mut recent = lock(&self.shared.just_connected);
        forget_older_than(&mut recent, JUST_CONNECTED);
        recent
            .iter()
            .find(|entry| *entry.socket == *socket && *entry.connection_id == *connection_id)
            .map(|entry| entry.opening.clone())
    }

    /// The connection is gone (its disconnect arrived): nothing waits for
    /// it to open any more.
    pub(crate) fn forget_connection(&self, socket: &str, connection_id: &str) {
        if let Some(opening) = self.waiting(socket, connection_id) {
            opening.close();
        }
        // Also when it was not waiting a moment ago: a send may have made
        // it wait since, and the close below ends that too.
        self.done_waiting(socket, connection_id);
        let socket = socket_key(socket);
        let mut recent = lock(&self.shared.just_connected);
        recent.retain(|entry| {
            let gone = *entry.socket == *socket && *entry.connection_id == *connection_id;
            if gone {
                entry.opening.close();
            }
            !gone
        });
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

/// Where sends to a connection wait while the membrane may not have opened
/// it: the websocket layer's outbox of the connection, which also holds
/// what its connect handler sent.
pub(crate) trait Opening: Send + Sync {
    /// Holds `data` until the connection opens, behind what waits already,
    /// or says what to do with it instead.
    fn hold(
        self: Arc<Self>,
        service: &ServiceHandle,
        socket: &str,
        connection_id: &str,
        data: Vec<u8>,
    ) -> Held;

    /// The connection has gone: drops what waits, and holds nothing more.
    fn close(&self);
}

/// Socket key -> connection id -> where sends to it wait.
type Waiting = HashMap<Box<str>, HashMap<Box<str>, Arc<dyn Opening>>>;

/// What became of a send given to [`Opening::hold`].
pub(crate) enum Held {
    /// It waits, and goes out once the connection opens.
    Queued,
    /// The connection has opened since the caller looked: send it now
    /// (what the membrane answers then is final).
    SendNow(Vec<u8>),
    /// The connection was refused, or has gone: nothing will receive it.
    Closed,
}

/// A connection whose connect handler ended, and when.
struct JustConnected {
    at: Instant,
    socket: Box<str>,
    connection_id: Box<str>,
    opening: Arc<dyn Opening>,
}

/// Drops the entries of `recent` older than `age`.
fn forget_older_than(recent: &mut VecDeque<JustConnected>, age: Duration) {
    while recent.front().is_some_and(|entry| entry.at.elapsed() > age) {
        recent.pop_front();
    }
}

/// A connection whose connect handler is running; when this drops, however
/// the handler ended, the connection is "just connected" for
/// [`JUST_CONNECTED`].
pub(crate) struct Connecting {
    service: ServiceHandle,
    socket: Box<str>,
    connection_id: Box<str>,
    opening: Arc<dyn Opening>,
}

impl Drop for Connecting {
    // The connection stays waiting: its outbox says when it is done.
    fn drop(&mut self) {
        let mut recent = lock(&self.service.shared.just_connected);
        forget_older_than(&mut recent, JUST_CONNECTED);
        recent.push_back(JustConnected {
            at: Instant::now(),
            socket: self.socket.clone(),
            connection_id: self.connection_id.clone(),
            opening: self.opening.clone(),
        });
    }
}

/// A service whose channel leads nowhere (nothing listens on port 1), for
/// unit tests of what it keeps.
#[cfg(test)]
pub(crate) fn unconnected_service() -> ServiceHandle {
    use crate::transport::{connect_lazy, Dial};
    let channel = connect_lazy("127.0.0.1:1", Dial::Tcp).unwrap();
    let deadlines = Deadlines {
        websocket_event: Duration::from_secs(1),
        topic_message: Duration::from_secs(1),
        schedule_interval: Duration::from_secs(1),
    };
    ServiceHandle::new(channel, deadlines, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ServiceHandle {
        unconnected_service()
    }

    /// An `Opening` that only counts what it is told.
    #[derive(Default)]
    struct Counted {
        held: AtomicUsize,
        closed: AtomicUsize,
    }

    impl Opening for Counted {
        fn hold(self: Arc<Self>, _: &ServiceHandle, _: &str, _: &str, _: Vec<u8>) -> Held {
            self.held.fetch_add(1, Ordering::Relaxed);
            Held::Queued
        }
        fn close(&self) {
            self.closed.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_connection_is_just_connected_once_its_connect_handler_ends() {
        let service = service();
        let opening = Arc::new(Counted::default());
        let connecting = service.begin_connecting("Public", "c1", opening.clone());
        assert!(service.waiting("public", "c1").is_some());
        assert!(service.just_connected("public", "c1").is_none());
        drop(connecting);
        // Its outbox says when nothing waits any more.
        assert!(service.waiting("public", "c1").is_some());
        service.done_waiting("public", "c1");
        assert!(service.waiting("public", "c1").is_none());
        // Socket names compare without case, ids exactly.
        assert!(service.just_connected("PUBLIC", "c1").is_some());
        assert!(service.just_connected("public", "C1").is_none());
        assert!(service.just_connected("other", "c1").is_none());
        // Its disconnect ends the window, closing what waits.
        service.forget_connection("public", "c1");
        assert!(service.just_connected("public", "c1").is_none());
        assert_eq!(opening.closed.load(Ordering::Relaxed), 1);
        assert_eq!(opening.held.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn entries_older_than_the_window_are_forgotten() {
        let long_ago = Instant::now() - Duration::from_secs(60);
        let entry = |at, id: &str| JustConnected {
            at,
            socket: "public".into(),
            connection_id: id.into(),
            opening: Arc::new(Counted::default()),
        };
        let mut recent = VecDeque::from([entry(long_ago, "old"), entry(Instant::now(), "new")]);
        forget_older_than(&mut recent, JUST_CONNECTED);
        let left: Vec<&str> = recent.iter().map(|entry| &*entry.connection_id).collect();
        assert_eq!(left, ["new"]);
    }
}
