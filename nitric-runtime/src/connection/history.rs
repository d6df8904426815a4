//! Room history: the last messages sent to each room, numbered, so a
//! client that reconnects can ask for what it missed.

use super::{claim, keys, now_millis, Connection, Rooms};
use crate::declaration::{KvPermission, KvStoreDeclaration};
use crate::error::Error;
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use crate::websocket::{BroadcastReport, Websocket};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// An entry: `history:{socket}:{room}:{seq}`, the number zero-padded to 20
/// digits so keys sort as numbers.
const ENTRY: &str = "history";
/// The splitter's `last` key of a number: `history-last:{socket}:{room}:{seq}`.
const LAST: &str = "history-last";
/// The splitter's `door` key of a number: `history-door:{socket}:{room}:{seq}`.
const DOOR: &str = "history-door";
/// Where allocation starts looking: `history-head:{socket}:{room}`.
const HEAD: &str = "history-head";
/// How many numbers one recording tries before giving up.
const MAX_ATTEMPTS: u64 = 64;

/// A random pause of up to `losses` milliseconds (at most 20), to break
/// the lockstep of recordings racing for the same numbers.
fn jitter(losses: u64) -> std::time::Duration {
    let most_micros = losses.clamp(1, 20) * 1_000;
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    std::time::Duration::from_micros(random % most_micros)
}

/// The last `COUNT` messages of each room, none older than `MAX_AGE_SECS`
/// seconds, numbered per room, in a declared key/value store every
/// instance shares. The defaults keep 100 messages for an hour:
/// `static HISTORY: History;`, or `History<500, 86400>` for 500 for a day.
///
/// [`broadcast_recorded`](Self::broadcast_recorded) records a message,
/// then sends it to the room as
/// `{"type": "history", "room": ..., "seq": 7, "message": ...}`;
/// a client keeps the last `seq` it saw and, after reconnecting, asks for
/// what came after it: [`replay`](Self::replay) sends those entries, in
/// order, to one connection ([`since`](Self::since) returns them). Replay
/// from the connect handler (the client reconnects with `?since=7`): the
/// entries are queued and go out once the handler has accepted the
/// connection. A live broadcast to the room can reach the client before
/// them, so clients order history messages by `seq` and drop those they
/// already have.
///
/// Sequence numbers grow per room but may have gaps. Without
/// compare-and-swap, each number is claimed with a splitter (see
/// docs/users-and-presence.md, "History"): two instances recording at
/// once never take the same number on a store whose reads see the latest
/// write, but may both lose one, leaving it empty. On AWS, whose reads can
/// lag, two recordings racing within that lag can both take one number;
/// the later write replaces the earlier message. A reader may also see
/// number 8 before 7 is written (its recorder is slower): a client that
/// resumes from 8 then misses 7.
///
/// Declare it with `#[kv_store("name", allow = [get, set, delete])]`; a
/// missing permission fails the build. One `History` per store: a second
/// on the same store stops the service at startup, naming both statics.
/// Listing a room's entries lists keys by prefix: a scan of the whole
/// store on AWS and GCP.
///
/// ```
/// use nitric_runtime::connection::{History, Rooms};
/// use nitric_runtime::websocket::{ConnectContext, MessageContext};
/// use nitric_runtime::{kv_store, websocket, BoxError};
///
/// #[kv_store("rooms", allow = [get, set, delete])]
/// static ROOMS: Rooms;
///
/// #[kv_store("history", allow = [get, set, delete])]
/// static HISTORY: History;
///
/// #[websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
///     ROOMS.join(&ctx, "lobby").await?;
///     // A client coming back names the last number it saw.
///     if let Some(seq) = ctx.query().get("since") {
///         HISTORY.replay(&ctx, "lobby", seq.parse()?).await?;
///     }
///     Ok(())
/// }
///
/// #[websocket("public", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), BoxError> {
///     HISTORY.broadcast_recorded(&ROOMS, ctx.socket(), "lobby", ctx.text()?).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct History<const COUNT: u64 = 100, const MAX_AGE_SECS: u64 = 3600> {
    store: KvStore<Value>,
}

/// What an entry holds.
#[derive(Serialize, Deserialize)]
struct Entry {
    seq: u64,
    at_ms: u64,
    message: Value,
}

/// What the head key holds: the last number some recording took.
#[derive(Serialize, Deserialize)]
struct Head {
    seq: u64,
}

/// One recorded message: its number, and how its broadcast went.
///
/// ```
/// # use nitric_runtime::websocket::MessageContext;
/// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
/// # static ROOMS: nitric_runtime::connection::Rooms;
/// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
/// # static HISTORY: nitric_runtime::connection::History;
/// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     let recorded = HISTORY.broadcast_recorded(&ROOMS, ctx.socket(), "lobby", ctx.text()?).await?;
///     tracing::debug!(seq = recorded.seq, sent = recorded.report.sent);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Recorded {
    /// The message's number in its room.
    pub seq: u64,
    /// How the send to the room's members went.
    pub report: BroadcastReport,
}

impl<const COUNT: u64, const MAX_AGE_SECS: u64> KvClient for History<COUNT, MAX_AGE_SECS> {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `History` static needs allow = [get, set, delete]: it writes, lists and trims entries",
        cleanup: None,
        // Two would number, trim and replay each other's entries, by
        // their own bounds.
        owns_state: Some("History"),
    };
}

/// A number as it appears in keys: 20 digits, so keys sort by number.
fn padded(seq: u64) -> String {
    format!("{seq:020}")
}

/// The message as a room receives it.
fn envelope(room: &str, seq: u64, message: &Value) -> Value {
    json!({ "type": "history", "room": room, "seq": seq, "message": message })
}

impl<const COUNT: u64, const MAX_AGE_SECS: u64> History<COUNT, MAX_AGE_SECS> {
    /// The client for a declared store; `#[kv_store]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static KvStoreDeclaration) -> Self {
        Self {
            store: KvStore::declared(declaration),
        }
    }

    /// The store's name.
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
    /// # static HISTORY: nitric_runtime::connection::History;
    /// # fn main() {
    /// assert_eq!(HISTORY.name(), "history");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }

    fn key(kind: &str, socket: &str, room: &str, seq: u64) -> String {
        keys::of_socket(kind, socket, &[room, &padded(seq)])
    }

    /// Records `message` in `room`'s history and returns its number; the
    /// oldest entry past `COUNT` is deleted. A room name longer than 256
    /// bytes fails with [`Error::Value`].
    ///
    /// ```
    /// use nitric_runtime::websocket::Websocket;
    /// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
    /// # static HISTORY: nitric_runtime::connection::History;
    /// async fn note(socket: &Websocket) -> Result<u64, nitric_runtime::Error> {
    ///     HISTORY.record(socket, "lobby", &serde_json::json!({ "system": "the room opens" })).await
    /// }
    /// # fn main() {}
    /// ```
    pub async fn record<T: Serialize + ?Sized>(
        &self,
        socket: &Websocket,
        room: &str,
        message: &T,
    ) -> Result<u64, Error> {
        let name = socket.name();
        let operation = || format!("record a message in room {room:?} on socket \"{name}\"");
        keys::check_room(room).map_err(|reason| Error::Value {
            operation: operation(),
            reason,
        })?;
        let message = serde_json::to_value(message).map_err(|error| Error::Value {
            operation: operation(),
            reason: format!("cannot write the message as JSON: {error}"),
        })?;
        let head_key = keys::of_socket(HEAD, name, &[room]);
        let head = self.store.get_as::<Head>(&head_key).await?;
        let first = head.map_or(1, |head| head.seq + 1);
        let mut seq = first;
        loop {
            let last = Self::key(LAST, name, room, seq);
            let door = Self::key(DOOR, name, room, seq);
            if claim::claim(&self.store, &last, &door).await? {
                break;
            }
            seq += 1;
            // Recordings that race walk the same numbers, and a splitter
            // can let every racer lose one: a random pause, longer with
            // each loss, lets one of them get ahead.
            tokio::time::sleep(jitter(seq - first)).await;
            if seq - first >= MAX_ATTEMPTS {
                return Err(Error::Value {
                    operation: operation(),
                    reason: format!("no free sequence number from {first} to {seq}"),
                });
            }
        }
        let entry = Entry {
            seq,
            at_ms: now_millis(),
            message,
        };
        self.store
            .set_as(&Self::key(ENTRY, name, room, seq), &entry)
            .await?;
        self.store.set_as(&head_key, &Head { seq }).await?;
        if let Some(old) = seq.checked_sub(COUNT).filter(|old| *old > 0) {
            self.forget(name, room, old).await?;
        }
        Ok(seq)
    }

    /// Deletes entry `seq` and its claim keys.
    async fn forget(&self, socket: &str, room: &str, seq: u64) -> Result<(), Error> {
        for kind in [ENTRY, LAST, DOOR] {
            self.store
                .delete(&Self::key(kind, socket, room, seq))
                .await?;
        }
        Ok(())
    }

    /// [`record`](Self::record)s `message`, then sends it to the members
    /// of `room` in `rooms`, as `{"type": "history", "room": ..., "seq":
    /// ..., "message": ...}`, as [`Rooms::broadcast`] does.
    ///
    /// ```
    /// # use nitric_runtime::websocket::MessageContext;
    /// # #[nitric_runtime::kv_store("rooms", allow = [get, set, delete])]
    /// # static ROOMS: nitric_runtime::connection::Rooms;
    /// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
    /// # static HISTORY: nitric_runtime::connection::History;
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    ///     let said = serde_json::json!({ "from": ctx.connection_id(), "text": ctx.text()? });
    ///     HISTORY.broadcast_recorded(&ROOMS, ctx.socket(), "lobby", &said).await?;
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn broadcast_recorded<T: Serialize + ?Sized>(
        &self,
        rooms: &Rooms,
        socket: &Websocket,
        room: &str,
        message: &T,
    ) -> Result<Recorded, Error> {
        let seq = self.record(socket, room, message).await?;
        let message = serde_json::to_value(message).unwrap_or(Value::Null);
        let report = rooms
            .broadcast_json(socket, room, &envelope(room, seq, &message))
            .await?;
        Ok(Recorded { seq, report })
    }

    /// The entries of `room` numbered after `seq`, oldest first, as
    /// `(seq, message)`: at most `COUNT`, none older than `MAX_AGE_SECS`
    /// (older ones found are deleted).
    ///
    /// ```
    /// use nitric_runtime::websocket::Websocket;
    /// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
    /// # static HISTORY: nitric_runtime::connection::History;
    /// async fn missed(socket: &Websocket) -> Result<usize, nitric_runtime::Error> {
    ///     Ok(HISTORY.since(socket, "lobby", 41).await?.len())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn since(
        &self,
        socket: &Websocket,
        room: &str,
        seq: u64,
    ) -> Result<Vec<(u64, Value)>, Error> {
        let name = socket.name();
        let prefix = keys::socket_prefix(ENTRY, name, &[room]);
        let listed: Vec<String> = self.store.keys(&prefix).try_collect().await?;
        let mut numbers: Vec<u64> = listed
            .iter()
            .filter_map(|key| match keys::last_part(key, &prefix) {
                keys::Listed::Part(number) => number.parse().ok(),
                keys::Listed::Outside | keys::Listed::Foreign => None,
            })
            .collect();
        numbers.sort_unstable();
        let newest = numbers.last().copied().unwrap_or(0);
        let oldest_kept = newest.saturating_sub(COUNT);
        let cutoff = now_millis().saturating_sub(MAX_AGE_SECS.saturating_mul(1000));
        let mut entries = Vec::new();
        for number in numbers {
            let entry = self
                .store
                .get_as::<Entry>(&Self::key(ENTRY, name, room, number))
                .await?;
            let Some(entry) = entry else { continue };
            if entry.at_ms < cutoff || number <= oldest_kept {
                self.forget(name, room, number).await?;
            } else if number > seq {
                entries.push((number, entry.message));
            }
        }
        Ok(entries)
    }

    /// Sends `connection` the entries of `room` after `seq`, in order, each
    /// as the room received it; returns how many.
    ///
    /// From a connect handler, with its
    /// [`ConnectContext`](crate::websocket::ConnectContext), the entries
    /// are read now and queued, then sent once the handler has accepted
    /// the connection (see
    /// [`ConnectContext::send`](crate::websocket::ConnectContext::send)); if it refuses the
    /// connection they are dropped. A line the room is sent meanwhile
    /// joins the same queue, behind them, when this service is sending it;
    /// from another instance (several on AWS) it can overtake them or, sent
    /// in the moment before the connection opens, miss it. A client orders
    /// history messages by `seq`, drops those it already has, and asks
    /// again from a message handler if it sees a gap.
    ///
    /// From a message handler the entries go out at once.
    ///
    /// ```
    /// # use nitric_runtime::websocket::{ConnectContext, MessageContext};
    /// # #[nitric_runtime::kv_store("history", allow = [get, set, delete])]
    /// # static HISTORY: nitric_runtime::connection::History;
    /// #[nitric_runtime::websocket("public", on = "connect")]
    /// async fn connect(ctx: ConnectContext) -> Result<(), nitric_runtime::BoxError> {
    ///     if let Some(seq) = ctx.query().get("since") {
    ///         HISTORY.replay(&ctx, "lobby", seq.parse()?).await?;
    ///     }
    ///     Ok(())
    /// }
    ///
    /// #[nitric_runtime::websocket("public", on = "message")]
    /// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::BoxError> {
    ///     if let Some(seq) = ctx.text()?.strip_prefix("resume ") {
    ///         HISTORY.replay(&ctx, "lobby", seq.parse()?).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn replay<C: Connection + ?Sized>(
        &self,
        connection: &C,
        room: &str,
        seq: u64,
    ) -> Result<usize, Error> {
        let socket = Websocket::new(connection.socket_name());
        let entries = self.since(&socket, room, seq).await?;
        for (number, message) in &entries {
            // A `Value` always writes as JSON.
            let data = serde_json::to_vec(&envelope(room, *number, message)).unwrap_or_default();
            // Through a connect handler's context, this queues until the
            // connection is accepted.
            connection.send_to_connection(data).await?;
        }
        Ok(entries.len())
    }
}

impl<const COUNT: u64, const MAX_AGE_SECS: u64> fmt::Debug for History<COUNT, MAX_AGE_SECS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("store", &self.name())
            .field("count", &COUNT)
            .field("max_age_secs", &MAX_AGE_SECS)
            .finish_non_exhaustive()
    }
}
