//! Rooms and connection state on the real local membrane, with real
//! websocket clients: joining, leaving, sending to a room, and the cleanup
//! the runtime does when a connection goes.

use nitric_runtime::connection::{ConnectionState, Rooms};
use nitric_runtime::kv::KvStore;
use nitric_runtime::testing::{TestApp, TestError, TestKvStore};
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext, Reject};
use nitric_runtime::{kv_store, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct User {
    name: String,
}

/// What the disconnect handler could still read of a connection.
#[derive(Serialize, Deserialize)]
struct Farewell {
    name: Option<String>,
    rooms: Vec<String>,
}

#[kv_store("rooms", allow = [get, set, delete])]
static ROOMS: Rooms;

#[kv_store("users", allow = [get, set, delete])]
static USER: ConnectionState<User>;

/// State that is not a JSON object: stored wrapped.
#[kv_store("nicknames", allow = [get, set, delete])]
static NICKNAME: ConnectionState<String>;

#[kv_store("farewells", allow = [set])]
static FAREWELLS: KvStore<Farewell>;

// Socket "chat": every handler written by the app.

#[websocket("chat", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let name = ctx.query().get("name").ok_or(Reject::new("no name"))?;
    USER.set(
        &ctx,
        &User {
            name: name.to_owned(),
        },
    )
    .await?;
    ROOMS
        .join(&ctx, ctx.query().get("room").unwrap_or("lobby"))
        .await?;
    Ok(())
}

/// Commands: `join R`, `leave R`, `rooms`, `members R`, `whoami`,
/// `to R: text`, `json R`.
#[websocket("chat", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), BoxError> {
    let text = ctx.text()?.to_owned();
    let socket = ctx.socket();
    let me = ctx.connection_id();
    let (command, argument) = text.split_once(' ').unwrap_or((&text, ""));
    let reply = match command {
        "join" => {
            ROOMS.join(&ctx, argument).await?;
            json!({ "joined": argument })
        }
        "leave" => {
            ROOMS.leave(&ctx, argument).await?;
            json!({ "left": argument })
        }
        "rooms" => {
            let mut rooms = ROOMS.rooms_of(&ctx).await?;
            rooms.sort();
            json!({ "rooms": rooms })
        }
        "members" => {
            let mut names = Vec::new();
            for id in ROOMS.members(socket, argument).await? {
                let user = USER.get(&(socket, id.as_str())).await?;
                names.push(user.map_or_else(|| format!("unknown {id}"), |user| user.name));
            }
            names.sort();
            json!({ "members": names })
        }
        "whoami" => {
            let user = USER
                .get(&ctx)
                .await?
                .ok_or("no state for this connection")?;
            json!({ "name": user.name })
        }
        "to" => {
            let (room, said) = argument.split_once(": ").ok_or("to ROOM: TEXT")?;
            let name = USER.get(&ctx).await?.ok_or("no state")?.name;
            let report = ROOMS
                .broadcast(socket, room, format!("{name}: {said}"))
                .concurrency(2)
                .await?;
            json!({ "sent": report.sent, "gone": report.gone, "failed": report.failed.len() })
        }
        "json" => {
            let report = ROOMS
                .broadcast_json(socket, argument, &json!({ "room": argument }))
                .await?;
            json!({ "sent": report.sent })
        }
        _ => return Err(format!("unknown command {command:?}").into()),
    };
    socket.send_json(me, &reply).await?;
    Ok(())
}

#[websocket("chat", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) -> Result<(), Error> {
    // The runtime cleans up after this handler, so both are still there.
    let user = USER.get(&ctx).await?;
    let mut rooms = ROOMS.rooms_of(&ctx).await?;
    rooms.sort();
    let farewell = Farewell {
        name: user.as_ref().map(|user| user.name.clone()),
        rooms,
    };
    let key = user.map_or_else(|| ctx.connection_id().to_owned(), |user| user.name);
    FAREWELLS.set(&key, &farewell).await
}

// Socket "bare": no disconnect handler; the runtime registers its own.

#[websocket("bare", on = "connect")]
async fn bare_connect(ctx: ConnectContext) -> Result<(), Error> {
    USER.set(
        &ctx,
        &User {
            name: "bare".into(),
        },
    )
    .await?;
    NICKNAME.set(&ctx, &"bare one".to_owned()).await?;
    ROOMS.join(&ctx, "lobby").await
}

#[websocket("bare", on = "message")]
async fn bare_message(ctx: MessageContext) -> Result<(), Error> {
    let members = ROOMS.members(ctx.socket(), "lobby").await?;
    ctx.socket()
        .send(ctx.connection_id(), members.len().to_string())
        .await
}

// Socket "refusing": the connect handler joins a room and sets state, then
// refuses as `?how=` says; nothing it wrote may stay.

#[websocket("refusing", on = "connect", timeout = "300ms")]
async fn refusing_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let how = ctx.query().get("how").unwrap_or("accept").to_owned();
    USER.set(&ctx, &User { name: how.clone() }).await?;
    ROOMS.join(&ctx, "waiting").await?;
    ROOMS.join(&ctx, "also:waiting").await?;
    match how.as_str() {
        "reject" => Err(Reject::new("no").into()),
        "error" => Err("the connect handler failed".into()),
        "panic" => panic!("the connect handler panicked"),
        "timeout" => std::future::pending().await,
        _ => Ok(()),
    }
}

#[websocket("refusing", on = "message")]
async fn refusing_message(_ctx: MessageContext) {}

// Socket "fragile": the disconnect handler fails as the connection's name
// says; the runtime cleans up all the same.

#[websocket("fragile", on = "connect")]
async fn fragile_connect(ctx: ConnectContext) -> Result<(), Error> {
    let name = ctx.query().get("name").unwrap_or("fine").to_owned();
    USER.set(&ctx, &User { name }).await?;
    ROOMS.join(&ctx, "lobby").await?;
    ROOMS.join(&ctx, "hall").await
}

#[websocket("fragile", on = "message")]
async fn fragile_message(_ctx: MessageContext) {}

#[websocket("fragile", on = "disconnect", timeout = "300ms")]
async fn fragile_disconnect(ctx: DisconnectContext) -> Result<(), BoxError> {
    let user = USER.get(&ctx).await?.ok_or("no state")?;
    match user.name.as_str() {
        "panic" => panic!("the disconnect handler panicked"),
        "error" => Err("the disconnect handler failed".into()),
        "slow" => std::future::pending().await,
        _ => Ok(()),
    }
}

pub(crate) async fn command(
    client: &mut nitric_runtime::testing::TestClient,
    text: &str,
) -> Result<Value, TestError> {
    client.send_text(text).await?;
    client.recv_json().await
}

/// Waits until `store` has no keys, or fails naming what is left.
pub(crate) async fn until_empty(store: &TestKvStore<Value>, what: &str) -> Result<(), TestError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let keys = store.keys("").await?;
        if keys.is_empty() {
            return Ok(());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: keys left: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for `key` in `store`.
async fn until_present(store: &TestKvStore<Value>, key: &str) -> Result<Value, TestError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = store.get(key).await? {
            return Ok(value);
        }
        assert!(tokio::time::Instant::now() < deadline, "no {key:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn join_list_and_leave() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect_with_query("chat", &[("name", "ada")]).await?;
    let mut bob = app
        .connect_with_query("chat", &[("name", "bob"), ("room", "kitchen")])
        .await?;

    assert_eq!(
        command(&mut ada, "rooms").await?,
        json!({ "rooms": ["lobby"] })
    );
    assert_eq!(
        command(&mut ada, "join kitchen").await?,
        json!({ "joined": "kitchen" })
    );
    assert_eq!(
        command(&mut ada, "rooms").await?,
        json!({ "rooms": ["kitchen", "lobby"] })
    );
    assert_eq!(
        command(&mut bob, "members kitchen").await?,
        json!({ "members": ["ada", "bob"] })
    );
    assert_eq!(
        command(&mut bob, "members lobby").await?,
        json!({ "members": ["ada"] })
    );
    // Joining twice changes nothing; leaving a room not joined is no error.
    command(&mut ada, "join kitchen").await?;
    assert_eq!(
        command(&mut ada, "leave kitchen").await?,
        json!({ "left": "kitchen" })
    );
    assert_eq!(
        command(&mut ada, "leave nowhere").await?,
        json!({ "left": "nowhere" })
    );
    assert_eq!(
        command(&mut ada, "rooms").await?,
        json!({ "rooms": ["lobby"] })
    );
    assert_eq!(
        command(&mut bob, "members kitchen").await?,
        json!({ "members": ["bob"] })
    );
    ada.close().await?;
    bob.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_room_send_reaches_exactly_its_members() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect_with_query("chat", &[("name", "ada")]).await?;
    let mut bob = app.connect_with_query("chat", &[("name", "bob")]).await?;
    let mut cy = app
        .connect_with_query("chat", &[("name", "cy"), ("room", "a/b")])
        .await?;
    let mut dee = app
        .connect_with_query("chat", &[("name", "dee"), ("room", "a")])
        .await?;

    // ada, not a member, sends to "a/b": only cy gets it.
    ada.send_text("to a/b: hi cy").await?;
    assert_eq!(cy.recv_text().await?, "ada: hi cy");
    assert_eq!(
        ada.recv_json::<Value>().await?,
        json!({ "sent": 1, "gone": [], "failed": 0 })
    );
    // "a" is not "a/b": only dee.
    bob.send_text("to a: hi dee").await?;
    assert_eq!(dee.recv_text().await?, "bob: hi dee");
    assert_eq!(bob.recv_json::<Value>().await?["sent"], 1);
    // The lobby: ada and bob, the sender included.
    bob.send_text("to lobby: hello").await?;
    assert_eq!(ada.recv_text().await?, "bob: hello");
    assert_eq!(bob.recv_text().await?, "bob: hello");
    assert_eq!(bob.recv_json::<Value>().await?["sent"], 2);
    // As JSON.
    cy.send_text("json lobby").await?;
    assert_eq!(ada.recv_json::<Value>().await?, json!({ "room": "lobby" }));
    assert_eq!(bob.recv_json::<Value>().await?, json!({ "room": "lobby" }));
    assert_eq!(cy.recv_json::<Value>().await?, json!({ "sent": 2 }));

    for client in [&mut ada, &mut bob, &mut cy, &mut dee] {
        client.expect_silence(Duration::from_millis(100)).await?;
    }
    for client in [ada, bob, cy, dee] {
        client.close().await?;
    }
    app.stop().await
}

#[tokio::test]
async fn state_set_at_connect_is_read_in_message_and_disconnect_handlers() -> Result<(), TestError>
{
    let app = TestApp::start().await?;
    let farewells = app.kv_store::<Value>("farewells");
    let mut ada = app
        .connect_with_query("chat", &[("name", "ada"), ("room", "kitchen")])
        .await?;
    assert_eq!(command(&mut ada, "whoami").await?, json!({ "name": "ada" }));
    command(&mut ada, "join lobby").await?;
    ada.close().await?;

    let farewell = until_present(&farewells, "ada").await?;
    assert_eq!(
        farewell,
        json!({ "name": "ada", "rooms": ["kitchen", "lobby"] })
    );
    app.stop().await
}

#[tokio::test]
async fn a_disconnect_removes_memberships_and_state() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let rooms = app.kv_store::<Value>("rooms");
    let users = app.kv_store::<Value>("users");
    let mut ada = app.connect_with_query("chat", &[("name", "ada")]).await?;
    let mut bob = app.connect_with_query("chat", &[("name", "bob")]).await?;
    command(&mut ada, "join kitchen").await?;

    // Two keys per membership, one per state.
    assert_eq!(rooms.keys("").await?.len(), 6);
    assert_eq!(users.keys("").await?.len(), 2);
    assert_eq!(rooms.keys("room:chat:kitchen:").await?.len(), 1);

    ada.close().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rooms.keys("").await?.len() != 2 || users.keys("").await?.len() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "ada's data stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        command(&mut bob, "members lobby").await?,
        json!({ "members": ["bob"] })
    );
    assert_eq!(
        command(&mut bob, "members kitchen").await?,
        json!({ "members": [] })
    );

    bob.close().await?;
    until_empty(&rooms, "rooms after everyone left").await?;
    until_empty(&users, "state after everyone left").await?;
    app.stop().await
}

#[tokio::test]
async fn without_a_disconnect_handler_the_runtime_still_cleans_up() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let rooms = app.kv_store::<Value>("rooms");
    let users = app.kv_store::<Value>("users");
    let mut one = app.connect("bare").await?;
    let two = app.connect("bare").await?;
    one.send_text("count").await?;
    assert_eq!(one.recv_text().await?, "2");
    assert_eq!(users.keys("state:bare:").await?.len(), 2);
    // A `ConnectionState<String>` keeps its value wrapped in an object.
    let nicknames = app.kv_store::<Value>("nicknames");
    let keys = nicknames.keys("").await?;
    assert_eq!(keys.len(), 2);
    assert_eq!(
        nicknames.get(&keys[0]).await?,
        Some(json!({ "value": "bare one" }))
    );

    two.close().await?;
    one.close().await?;
    until_empty(&rooms, "rooms of the socket without a disconnect handler").await?;
    until_empty(&users, "state of the socket without a disconnect handler").await?;
    until_empty(
        &nicknames,
        "nicknames of the socket without a disconnect handler",
    )
    .await?;
    app.stop().await
}

#[tokio::test]
async fn a_gone_member_is_cleaned_up_when_a_room_send_reaches_it() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let rooms = app.kv_store::<Value>("rooms");
    let users = app.kv_store::<Value>("users");
    let mut ada = app.connect_with_query("chat", &[("name", "ada")]).await?;
    // A member whose disconnect never arrived, as happens on AWS: in the
    // lobby and the kitchen, with state.
    for room in ["lobby", "kitchen"] {
        let ghost = json!({ "socket": "chat", "room": room, "connection_id": "ghost" });
        rooms
            .set(&format!("joined:chat:ghost:{room}"), &ghost)
            .await?;
        rooms
            .set(&format!("room:chat:{room}:ghost"), &ghost)
            .await?;
    }
    users
        .set("state:chat:ghost", &json!({ "value": { "name": "ghost" } }))
        .await?;
    assert_eq!(
        command(&mut ada, "members lobby").await?,
        json!({ "members": ["ada", "ghost"] })
    );

    ada.send_text("to lobby: anyone?").await?;
    assert_eq!(ada.recv_text().await?, "ada: anyone?");
    assert_eq!(
        ada.recv_json::<Value>().await?,
        json!({ "sent": 1, "gone": ["ghost"], "failed": 0 })
    );
    // Every room, and the state: as a disconnect would.
    assert!(rooms.keys("room:chat:lobby:ghost").await?.is_empty());
    assert!(rooms.keys("room:chat:kitchen:").await?.is_empty());
    assert!(rooms.keys("joined:chat:ghost:").await?.is_empty());
    assert!(users.get("state:chat:ghost").await?.is_none());
    assert_eq!(
        command(&mut ada, "members lobby").await?,
        json!({ "members": ["ada"] })
    );
    ada.close().await?;
    app.stop().await
}

#[tokio::test]
async fn a_refused_connection_leaves_nothing_behind() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let rooms = app.kv_store::<Value>("rooms");
    let users = app.kv_store::<Value>("users");
    for how in ["reject", "error", "panic", "timeout"] {
        let status = app
            .connect_refused_with_query("refusing", &[("how", how)])
            .await?;
        assert_eq!(status, 403, "{how}");
        // The cleanup runs before the connect is answered.
        assert_eq!(rooms.keys("").await?, Vec::<String>::new(), "{how}");
        assert_eq!(users.keys("").await?, Vec::<String>::new(), "{how}");
    }
    // An accepted one keeps what it wrote.
    let client = app
        .connect_with_query("refusing", &[("how", "accept")])
        .await?;
    assert_eq!(rooms.keys("joined:refusing:").await?.len(), 2);
    assert_eq!(users.keys("state:refusing:").await?.len(), 1);
    client.close().await?;
    until_empty(&rooms, "rooms after the accepted one left").await?;
    until_empty(&users, "state after the accepted one left").await?;
    app.stop().await
}

#[tokio::test]
async fn a_failing_disconnect_handler_is_still_cleaned_up_after() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let rooms = app.kv_store::<Value>("rooms");
    let users = app.kv_store::<Value>("users");
    let mut clients = Vec::new();
    for name in ["panic", "error", "slow", "fine"] {
        clients.push(app.connect_with_query("fragile", &[("name", name)]).await?);
    }
    assert_eq!(users.keys("").await?.len(), 4);
    assert_eq!(rooms.keys("").await?.len(), 16);
    for client in clients {
        client.close().await?;
    }
    until_empty(&rooms, "rooms after failed disconnect handlers").await?;
    until_empty(&users, "state after failed disconnect handlers").await?;
    app.stop().await
}

#[tokio::test]
async fn room_and_state_calls_outside_a_handler_use_a_socket_and_an_id() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let socket = nitric_runtime::websocket::Websocket::new("chat");
    let someone = (&socket, "someone/else");
    app.scope(async {
        ROOMS.join(&someone, "x/y").await?;
        USER.set(
            &someone,
            &User {
                name: "else".into(),
            },
        )
        .await?;
        assert_eq!(ROOMS.rooms_of(&someone).await?, ["x/y"]);
        // Any serde type: a `String` reads back as it was set.
        NICKNAME.set(&someone, &"nick".to_owned()).await?;
        assert_eq!(NICKNAME.get(&someone).await?.as_deref(), Some("nick"));
        NICKNAME.delete(&someone).await?;
        assert_eq!(NICKNAME.get(&someone).await?, None);
        // Room names are capped, as keys are limited in size.
        let long = "r".repeat(257);
        match ROOMS.join(&someone, &long).await {
            Err(Error::Value { reason, .. }) => assert!(reason.contains("256 bytes"), "{reason}"),
            other => panic!("a 257-byte room name was accepted: {other:?}"),
        }
        ROOMS.join(&someone, &"r".repeat(256)).await?;
        ROOMS.leave(&someone, &"r".repeat(256)).await?;
        assert_eq!(ROOMS.members(&socket, "x/y").await?, ["someone/else"]);
        assert_eq!(
            USER.get(&someone).await?.map(|user| user.name).as_deref(),
            Some("else")
        );
        ROOMS.leave_all(&someone).await?;
        USER.delete(&someone).await?;
        assert!(ROOMS.members(&socket, "x/y").await?.is_empty());
        assert!(USER.get(&someone).await?.is_none());
        Ok::<_, Error>(())
    })
    .await?;
    app.stop().await
}

/// A member the membrane does not know is forgotten by a room's broadcast,
/// unless it joined moments ago: then it is most likely still being
/// accepted (by another instance of the service, whose opening the
/// membrane reports as it does a gone connection), so it is kept and
/// reported not ready. Memberships written before join times were kept
/// count as old.
#[tokio::test]
async fn a_broadcast_keeps_a_member_that_joined_moments_ago() -> Result<(), TestError> {
    use std::future::IntoFuture;
    let app = TestApp::start().await?;
    let socket = nitric_runtime::websocket::Websocket::new("chat");
    for ghost in ["opening", "lost"] {
        app.scope(ROOMS.join(&(&socket, ghost), "hall")).await?;
    }
    // "lost" joined before join times were kept: its membership has none.
    let store = app.kv_store::<Value>("rooms");
    for key in store.keys("").await? {
        if key.contains("lost") {
            store
                .set(
                    &key,
                    &json!({ "socket": "chat", "room": "hall", "connection_id": "lost" }),
                )
                .await?;
        }
    }
    let report = app
        .scope(ROOMS.broadcast(&socket, "hall", "anyone?").into_future())
        .await?;
    assert_eq!(report.not_ready, ["opening"], "{report:?}");
    assert_eq!(report.gone, ["lost"], "{report:?}");
    assert_eq!(
        app.scope(ROOMS.members(&socket, "hall")).await?,
        ["opening"]
    );
    app.stop().await
}
