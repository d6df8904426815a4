//! Schedules on the real local membrane: a schedule fires on its rate
//! (a test minute is short, see `TEST_MINUTE`) and its handler runs inside
//! the service, so it reaches connected websocket clients through rooms.

use nitric_runtime::connection::Rooms;
use nitric_runtime::schedule::ScheduleContext;
use nitric_runtime::testing::{TestApp, TestError};
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Websocket};
use nitric_runtime::{kv_store, schedule, websocket, Error};
use std::sync::atomic::{AtomicBool, Ordering};

#[kv_store("bulletin-rooms", allow = [get, set, delete])]
static BULLETIN_ROOMS: Rooms;

#[websocket("bulletin", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), Error> {
    BULLETIN_ROOMS.join(&ctx, "readers").await
}

#[websocket("bulletin", on = "disconnect")]
async fn disconnect(_ctx: DisconnectContext) {}

#[websocket("bulletin", on = "message")]
async fn message(_ctx: MessageContext) {}

/// Broadcasts its name to every reader each time it fires.
#[schedule("bulletin-tick", every = "1 minute")]
async fn tick(ctx: ScheduleContext) -> Result<(), Error> {
    let socket = Websocket::new("bulletin");
    BULLETIN_ROOMS
        .broadcast(&socket, "readers", format!("{} fired", ctx.name()))
        .await?;
    Ok(())
}

/// Set once the failing schedule has run, so its test knows it fired.
static FLAKY_RAN: AtomicBool = AtomicBool::new(false);

/// Panics on its first run, then broadcasts: a panic does not end the
/// schedule, which fires again.
#[schedule("bulletin-flaky", every = "1 minute", timeout = "5s")]
async fn flaky() -> Result<(), Error> {
    if !FLAKY_RAN.swap(true, Ordering::SeqCst) {
        panic!("the first run of a schedule fails");
    }
    let socket = Websocket::new("bulletin");
    BULLETIN_ROOMS
        .broadcast(&socket, "readers", "flaky recovered")
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_schedule_broadcasts_to_connected_clients() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut client = app.connect("bulletin").await?;
    // The client waits (bounded by the test kit's timeout) for the firings
    // that reach it; a firing before it joined the room reached no one.
    loop {
        if client.recv_text().await? == "bulletin-tick fired" {
            break;
        }
    }
    client.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_schedule_that_panicked_fires_again() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut client = app.connect("bulletin").await?;
    loop {
        if client.recv_text().await? == "flaky recovered" {
            break;
        }
    }
    assert!(FLAKY_RAN.load(Ordering::SeqCst));
    client.close().await?;
    app.stop().await
}
