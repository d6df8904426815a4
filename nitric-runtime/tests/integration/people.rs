//! Users, connect tickets, presence and room history on the real local
//! membrane, with real websocket clients.

use crate::rooms_and_state::{command, until_empty};
use nitric_runtime::connection::{History, Presence, Rooms, Ticket, TicketDesk, Tickets, Users};
use nitric_runtime::testing::{TestApp, TestError};
use nitric_runtime::websocket::{ConnectContext, MessageContext, Reject, Websocket};
use nitric_runtime::{kv_store, websocket, BoxError};
use serde_json::{json, Value};
use std::time::Duration;

#[kv_store("people-users", allow = [get, set, delete])]
static USERS: Users;

#[kv_store("people-tickets", allow = [get, set, delete])]
static TICKETS: Tickets;

#[kv_store("people-presence", allow = [get, set, delete])]
static PRESENCE: Presence;

#[kv_store("people-rooms", allow = [get, set, delete])]
static ROOMS: Rooms;

#[kv_store("people-history", allow = [get, set, delete])]
static HISTORY: History;

/// A history of three entries at most.
#[kv_store("people-short-history", allow = [get, set, delete])]
static SHORT: History<3, 3600>;

// Socket "people": `?user=` binds the connection.

#[websocket("people", on = "connect")]
async fn people_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let user = ctx.query().get("user").ok_or(Reject::new("no user"))?;
    USERS.bind(&ctx, user).await?;
    Ok(())
}

/// Commands: `whoami`, `to USER: text`, `count USER`, `kick USER`.
#[websocket("people", on = "message")]
async fn people_message(ctx: MessageContext) -> Result<(), BoxError> {
    let text = ctx.text()?.to_owned();
    let socket = ctx.socket();
    let (command, argument) = text.split_once(' ').unwrap_or((&text, ""));
    let reply = match command {
        "whoami" => json!({ "user": USERS.user_of(&ctx).await? }),
        "to" => {
            let (user, said) = argument.split_once(": ").ok_or("to USER: TEXT")?;
            let report = USERS.send_to_user(socket, user, said).await?;
            json!({ "sent": report.sent, "gone": report.gone })
        }
        "count" => json!({ "count": USERS.connections_of(socket, argument).await?.len() }),
        "kick" => json!({ "closed": USERS.close_user(socket, argument).await? }),
        _ => return Err(format!("unknown command {command:?}").into()),
    };
    socket.send_json(ctx.connection_id(), &reply).await?;
    Ok(())
}

// Socket "ticketed": the `Ticket` guard admits and binds.

struct Desk;

impl TicketDesk for Desk {
    fn tickets() -> &'static Tickets {
        &TICKETS
    }
    fn users() -> &'static Users {
        &USERS
    }
}

#[websocket("ticketed", on = "connect")]
async fn ticketed_connect(_ctx: ConnectContext, _ticket: Ticket<Desk>) {}

#[websocket("ticketed", on = "message")]
async fn ticketed_message(ctx: MessageContext) -> Result<(), BoxError> {
    let user = USERS.user_of(&ctx).await?;
    ctx.socket()
        .send_json(ctx.connection_id(), &json!({ "user": user }))
        .await?;
    Ok(())
}

// Socket "present": `?name=` joins the lobby with that name.

#[websocket("present", on = "connect")]
async fn present_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let name = ctx.query().get("name").unwrap_or("someone");
    PRESENCE
        .join(&ctx, "lobby", &json!({ "name": name }))
        .await?;
    Ok(())
}

/// Commands: `list`, `sweep`.
#[websocket("present", on = "message")]
async fn present_message(ctx: MessageContext) -> Result<(), BoxError> {
    let socket = ctx.socket();
    let reply = match ctx.text()? {
        "list" => {
            let mut names: Vec<String> = PRESENCE
                .list(socket, "lobby")
                .await?
                .into_iter()
                .map(|(_, meta)| meta["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            names.sort();
            json!({ "members": names })
        }
        "sweep" => json!({ "gone": PRESENCE.sweep(socket).await? }),
        other => return Err(format!("unknown command {other:?}").into()),
    };
    socket.send_json(ctx.connection_id(), &reply).await?;
    Ok(())
}

// Socket "recorded": everyone is in the lobby; `say X` records and sends,
// `resume N` replays what came after N, as does connecting with `?since=N`.

#[websocket("recorded", on = "connect")]
async fn recorded_connect(ctx: ConnectContext) -> Result<(), BoxError> {
    ROOMS.join(&ctx, "lobby").await?;
    if let Some(seq) = ctx.query().get("since") {
        HISTORY.replay(&ctx, "lobby", seq.parse()?).await?;
    }
    Ok(())
}

#[websocket("recorded", on = "message")]
async fn recorded_message(ctx: MessageContext) -> Result<(), BoxError> {
    let text = ctx.text()?.to_owned();
    if let Some(said) = text.strip_prefix("say ") {
        HISTORY
            .broadcast_recorded(&ROOMS, ctx.socket(), "lobby", said)
            .await?;
    } else if let Some(seq) = text.strip_prefix("resume ") {
        let replayed = HISTORY.replay(&ctx, "lobby", seq.parse()?).await?;
        ctx.socket()
            .send_json(ctx.connection_id(), &json!({ "replayed": replayed }))
            .await?;
    }
    Ok(())
}

fn recorded(seq: u64, message: &str) -> Value {
    json!({ "type": "history", "room": "lobby", "seq": seq, "message": message })
}

#[tokio::test]
async fn a_user_is_reached_on_every_connection_and_closed_on_all() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut phone = app.connect_with_query("people", &[("user", "ada")]).await?;
    let mut laptop = app.connect_with_query("people", &[("user", "ada")]).await?;
    let mut bob = app.connect_with_query("people", &[("user", "bob")]).await?;

    assert_eq!(
        command(&mut phone, "whoami").await?,
        json!({ "user": "ada" })
    );
    assert_eq!(command(&mut bob, "count ada").await?, json!({ "count": 2 }));
    assert_eq!(
        command(&mut bob, "to ada: hello").await?,
        json!({ "sent": 2, "gone": [] })
    );
    assert_eq!(phone.recv_text().await?, "hello");
    assert_eq!(laptop.recv_text().await?, "hello");

    assert_eq!(command(&mut bob, "kick ada").await?, json!({ "closed": 2 }));
    assert!(phone.recv().await.is_err(), "the phone is closed");
    assert!(laptop.recv().await.is_err(), "the laptop is closed");
    bob.close().await?;
    // Every binding goes with its connection's disconnect.
    until_empty(&app.kv_store("people-users"), "users after disconnects").await?;
    app.stop().await
}

#[tokio::test]
async fn a_send_to_a_user_cleans_up_a_connection_found_gone() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let users = app.kv_store::<Value>("people-users");
    // A binding whose disconnect never came, as can happen on AWS.
    let binding = json!({ "socket": "people", "user": "carol", "connection_id": "ghost" });
    users.set("bound:people:ghost", &binding).await?;
    users.set("user:people:carol:ghost", &binding).await?;
    let mut bob = app.connect_with_query("people", &[("user", "bob")]).await?;

    assert_eq!(
        command(&mut bob, "to carol: anyone?").await?,
        json!({ "sent": 0, "gone": ["ghost"] })
    );
    assert_eq!(users.get("bound:people:ghost").await?, None);
    assert_eq!(users.get("user:people:carol:ghost").await?, None);
    assert_eq!(
        command(&mut bob, "count carol").await?,
        json!({ "count": 0 })
    );
    app.stop().await
}

#[tokio::test]
async fn a_ticket_admits_once_and_binds_its_user() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let ticket = app
        .scope(TICKETS.issue("ada", Duration::from_secs(60)))
        .await?;

    let mut ada = app
        .connect_with_query("ticketed", &[("ticket", &ticket)])
        .await?;
    assert_eq!(command(&mut ada, "whoami").await?, json!({ "user": "ada" }));
    // Used: refused, as are a missing, a malformed and an unknown ticket.
    let unknown = format!("99999999999999.{}", "0".repeat(64));
    for query in [
        vec![("ticket", ticket.as_str())],
        vec![],
        vec![("ticket", "guess")],
        vec![("ticket", unknown.as_str())],
    ] {
        assert_eq!(
            app.connect_refused_with_query("ticketed", &query).await?,
            403,
            "{query:?}"
        );
    }
    app.stop().await
}

/// The store holds a digest of each ticket's secret, never the secret:
/// someone who can read the store (its keys or its values) learns nothing
/// that connects, not even by presenting a stored key as a ticket.
#[tokio::test]
async fn reading_the_store_reveals_no_ticket() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let ticket = app
        .scope(TICKETS.issue("ada", Duration::from_secs(60)))
        .await?;
    let (_, secret) = ticket.split_once('.').expect("expiry.secret");
    let store = app.kv_store::<Value>("people-tickets");
    let keys = store.keys("").await?;
    assert!(!keys.is_empty(), "the ticket is stored");
    for key in &keys {
        assert!(!key.contains(secret), "{key} holds the secret");
        let value = store.get(key).await?.unwrap_or(Value::Null);
        assert!(!value.to_string().contains(secret), "{value}");
        let stored_as_ticket = key.trim_start_matches("ticket:");
        assert_eq!(
            app.connect_refused_with_query("ticketed", &[("ticket", stored_as_ticket)])
                .await?,
            403,
            "{key}"
        );
    }
    // The ticket itself still works.
    app.connect_with_query("ticketed", &[("ticket", &ticket)])
        .await?;
    app.stop().await
}

#[tokio::test]
async fn an_expired_ticket_is_refused() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let ticket = app.scope(TICKETS.issue("ada", Duration::ZERO)).await?;
    assert_eq!(
        app.connect_refused_with_query("ticketed", &[("ticket", &ticket)])
            .await?,
        403
    );
    assert_eq!(app.scope(TICKETS.redeem(&ticket)).await?, None);
    // Not yet a minute past its expiry: purge keeps it.
    assert_eq!(app.scope(TICKETS.purge()).await?, 0);
    app.stop().await
}

#[tokio::test]
async fn redeems_racing_on_one_ticket_admit_at_most_one() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    for _ in 0..5 {
        let ticket = app
            .scope(TICKETS.issue("ada", Duration::from_secs(60)))
            .await?;
        let redeems = (0..6).map(|_| TICKETS.redeem(&ticket));
        let outcomes = app.scope(futures_util::future::join_all(redeems)).await;
        let admitted = outcomes
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .count();
        assert!(admitted <= 1, "{admitted} redeems of one ticket succeeded");
        assert_eq!(app.scope(TICKETS.redeem(&ticket)).await?, None);
    }
    app.stop().await
}

#[tokio::test]
async fn presence_announces_joins_and_leaves_and_sweeps_the_gone() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app
        .connect_with_query("present", &[("name", "ada")])
        .await?;
    // A join from the connect handler reaches the joiner too, once its
    // connection opens.
    let own: Value = ada.recv_json().await?;
    assert_eq!(
        (&own["event"], &own["meta"]),
        (&json!("join"), &json!({ "name": "ada" }))
    );
    let mut bob = app
        .connect_with_query("present", &[("name", "bob")])
        .await?;
    assert_eq!(
        bob.recv_json::<Value>().await?["meta"],
        json!({ "name": "bob" })
    );

    // Bob's join reaches ada.
    let joined: Value = ada.recv_json().await?;
    assert_eq!(joined["type"], "presence");
    assert_eq!(joined["event"], "join");
    assert_eq!(joined["room"], "lobby");
    assert_eq!(joined["meta"], json!({ "name": "bob" }));
    let bob_id = joined["connection"].clone();
    assert_eq!(
        command(&mut ada, "list").await?,
        json!({ "members": ["ada", "bob"] })
    );

    bob.close().await?;
    let left: Value = ada.recv_json().await?;
    assert_eq!(
        left,
        json!({ "type": "presence", "event": "leave", "room": "lobby", "connection": bob_id, "meta": { "name": "bob" } })
    );
    assert_eq!(
        command(&mut ada, "list").await?,
        json!({ "members": ["ada"] })
    );

    // A member whose disconnect never came: the sweep finds it gone.
    let presence = app.kv_store::<Value>("people-presence");
    presence
        .set(
            "presence:present:lobby:ghost",
            &json!({ "connection_id": "ghost", "meta": { "name": "ghost" } }),
        )
        .await?;
    presence
        .set("present:present:ghost:lobby", &json!({ "room": "lobby" }))
        .await?;
    ada.send_text("sweep").await?;
    assert_eq!(
        ada.recv_json::<Value>().await?,
        json!({ "type": "presence", "event": "probe" })
    );
    assert_eq!(
        ada.recv_json::<Value>().await?,
        json!({ "type": "presence", "event": "leave", "room": "lobby", "connection": "ghost", "meta": { "name": "ghost" } })
    );
    assert_eq!(
        ada.recv_json::<Value>().await?,
        json!({ "gone": ["ghost"] })
    );
    assert_eq!(
        command(&mut ada, "list").await?,
        json!({ "members": ["ada"] })
    );
    ada.close().await?;
    until_empty(&presence, "presence after disconnects").await?;
    app.stop().await
}

#[tokio::test]
async fn a_client_that_comes_back_gets_exactly_what_it_missed() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("recorded").await?;
    let mut bob = app.connect("recorded").await?;

    ada.send_text("say one").await?;
    assert_eq!(ada.recv_json::<Value>().await?, recorded(1, "one"));
    assert_eq!(bob.recv_json::<Value>().await?, recorded(1, "one"));
    ada.send_text("say two").await?;
    assert_eq!(ada.recv_json::<Value>().await?, recorded(2, "two"));
    let last_seen: Value = bob.recv_json().await?;
    assert_eq!(last_seen, recorded(2, "two"));

    // Bob drops; ada goes on talking.
    bob.close().await?;
    for (seq, said) in [(3, "three"), (4, "four")] {
        ada.send_text(format!("say {said}")).await?;
        assert_eq!(ada.recv_json::<Value>().await?, recorded(seq, said));
    }

    // Bob is back on a new connection and resumes after the last he saw.
    let mut bob = app.connect("recorded").await?;
    bob.send_text(format!("resume {}", last_seen["seq"]))
        .await?;
    assert_eq!(bob.recv_json::<Value>().await?, recorded(3, "three"));
    assert_eq!(bob.recv_json::<Value>().await?, recorded(4, "four"));
    assert_eq!(bob.recv_json::<Value>().await?, json!({ "replayed": 2 }));
    // And hears what is said from now on.
    ada.send_text("say five").await?;
    assert_eq!(bob.recv_json::<Value>().await?, recorded(5, "five"));
    app.stop().await
}

#[tokio::test]
async fn a_client_that_reconnects_with_since_gets_what_it_missed_from_connect(
) -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect("recorded").await?;
    let bob = app.connect("recorded").await?;
    ada.send_text("say one").await?;
    assert_eq!(ada.recv_json::<Value>().await?, recorded(1, "one"));
    bob.close().await?;
    for (seq, said) in [(2, "two"), (3, "three")] {
        ada.send_text(format!("say {said}")).await?;
        assert_eq!(ada.recv_json::<Value>().await?, recorded(seq, said));
    }

    // Back with the last number it saw: the connect handler replays.
    let mut bob = app
        .connect_with_query("recorded", &[("since", "1")])
        .await?;
    assert_eq!(bob.recv_json::<Value>().await?, recorded(2, "two"));
    assert_eq!(bob.recv_json::<Value>().await?, recorded(3, "three"));
    // Nothing more was replayed: next comes the next live line.
    ada.send_text("say four").await?;
    assert_eq!(bob.recv_json::<Value>().await?, recorded(4, "four"));
    // Refused for a malformed number: the replay never ran.
    assert_eq!(
        app.connect_refused_with_query("recorded", &[("since", "two")])
            .await?,
        403
    );
    app.stop().await
}

#[tokio::test]
async fn history_keeps_its_bound_and_numbers_racing_recordings_apart() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let socket = Websocket::new("recorded");
    for said in ["a", "b", "c", "d", "e"] {
        app.scope(SHORT.record(&socket, "bounded", said)).await?;
    }
    let kept = app.scope(SHORT.since(&socket, "bounded", 0)).await?;
    assert_eq!(
        kept,
        vec![(3, json!("c")), (4, json!("d")), (5, json!("e"))]
    );
    assert_eq!(
        app.scope(SHORT.since(&socket, "bounded", 4)).await?,
        vec![(5, json!("e"))]
    );

    // Eight recordings at once: eight different numbers, in the history
    // in order.
    let said = ["0", "1", "2", "3", "4", "5", "6", "7"];
    let racing = said.iter().map(|n| HISTORY.record(&socket, "racing", n));
    let numbers = app
        .scope(futures_util::future::join_all(racing))
        .await
        .into_iter()
        .collect::<Result<Vec<u64>, _>>()?;
    let mut distinct = numbers.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "{numbers:?}");
    let listed: Vec<u64> = app
        .scope(HISTORY.since(&socket, "racing", 0))
        .await?
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(listed, distinct);
    app.stop().await
}
