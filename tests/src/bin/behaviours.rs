//! An app whose handlers misbehave on request, for the end-to-end tests.
//!
//! Connect query: `?reject=1` refuses, `?fail=1` errors, `?panic=1` panics,
//! `?slow=1` logs `slow connect started` and accepts after one second;
//! other parameters are remembered. The disconnect handler logs
//! `disconnect handled for <id>`. Messages: `query` answers the connect
//! query as JSON, `panic` panics, `slow` logs `slow handler started` and
//! answers `slow done` after two seconds, `wait` logs `waiting for a
//! release` and answers `wait done` once the next `release` message
//! arrives (awaiting it, so no worker thread is held), `block` blocks its
//! worker thread (no `.await`) until the next `release`, then answers
//! `block done` (both give up after a minute); `missing key`, `send to
//! stranger` and `write read-only` answer what those client calls
//! returned, anything else is echoed.
//!
//! The tests wait for the log lines, never for time to pass: the one
//! second and two seconds are how long a handler is in flight, which is
//! what the tests of cancelled handshakes and of shutdown look at.

use nitric_runtime::kv::KvStore;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Reject};
use nitric_runtime::{kv_store, websocket, BoxError};
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How many `release` messages have arrived, and the condition `block`
/// waits on.
static RELEASES: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

#[kv_store("queries", allow = [get, set, delete])]
static QUERIES: KvStore<BTreeMap<String, Vec<String>>>;

#[kv_store("read-only", allow = [get])]
static READ_ONLY: KvStore<BTreeMap<String, String>>;

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let query = ctx.query();
    if query.get("reject").is_some() {
        return Err(Reject::new("asked to be refused").into());
    }
    if query.get("fail").is_some() {
        return Err("the connect handler failed on purpose".into());
    }
    if query.get("panic").is_some() {
        panic!("the connect handler panicked on purpose");
    }
    if query.get("slow").is_some() {
        tracing::info!(connection_id = ctx.connection_id(), "slow connect started");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let remembered = query
        .iter()
        .map(|(name, values)| (name.to_owned(), values.to_vec()))
        .collect();
    QUERIES.set(ctx.connection_id(), &remembered).await?;
    Ok(())
}

#[websocket("public", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) -> Result<(), nitric_runtime::Error> {
    QUERIES.delete(ctx.connection_id()).await?;
    tracing::info!("disconnect handled for {}", ctx.connection_id());
    Ok(())
}

#[websocket("public", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), BoxError> {
    let reply = match ctx.text()? {
        "query" => serde_json::to_string(&QUERIES.get(ctx.connection_id()).await?)?,
        "panic" => panic!("the message handler panicked on purpose"),
        "slow" => {
            tracing::info!("slow handler started");
            tokio::time::sleep(Duration::from_secs(2)).await;
            "slow done".to_owned()
        }
        "wait" => {
            let before = releases();
            tracing::info!("waiting for a release");
            tokio::task::spawn_blocking(move || wait_for_release(before)).await?;
            "wait done".to_owned()
        }
        "block" => {
            let before = releases();
            tracing::info!("blocking the thread on purpose");
            // A handler that never awaits: the worker thread is held until
            // the next `release`.
            wait_for_release(before);
            "block done".to_owned()
        }
        "release" => {
            *RELEASES.0.lock().unwrap() += 1;
            RELEASES.1.notify_all();
            "released".to_owned()
        }
        "hang" => {
            tracing::info!("hanging on purpose");
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes")
        }
        "missing key" => format!("{:?}", QUERIES.get("no such key").await?),
        "send to stranger" => match ctx.socket().send("no-such-connection", "hi").await {
            Err(nitric_runtime::Error::ConnectionGone { operation, .. }) => {
                format!("gone: {operation}")
            }
            other => format!("unexpected: {other:?}"),
        },
        "write read-only" => match READ_ONLY.set("key", &BTreeMap::new()).await {
            Err(error @ nitric_runtime::Error::NotAllowed { .. }) => error.to_string(),
            other => format!("unexpected: {other:?}"),
        },
        other => other.to_owned(),
    };
    ctx.socket().send(ctx.connection_id(), reply).await?;
    Ok(())
}

/// How many `release` messages have arrived so far.
fn releases() -> u64 {
    *RELEASES.0.lock().unwrap()
}

/// Blocks the calling thread until more than `before` releases have
/// arrived, or a minute has passed.
fn wait_for_release(before: u64) {
    let (releases, changed) = &RELEASES;
    let _released = changed
        .wait_timeout_while(
            releases.lock().unwrap(),
            Duration::from_secs(60),
            |releases| *releases == before,
        )
        .unwrap();
}

fn main() {
    nitric_runtime::run();
}
