//! The lobby example, tested with the test kit: its handlers, route and
//! schedule on an in-process local membrane, real HTTP and websocket
//! clients.

// The example's handlers, linked into this test; its `main` is not used.
#[allow(dead_code)]
#[path = "main.rs"]
mod lobby;

use nitric_runtime::testing::{TestApp, TestClient, TestError};
use serde_json::{json, Value};

/// Logs `name` in and connects with the ticket, to `room` if given, and
/// reads the room's announcement of the join, which the joiner gets too.
async fn enter(app: &TestApp, name: &str, room: Option<&str>) -> Result<TestClient, TestError> {
    let ticket = ticket(app, name).await?;
    let mut query = vec![("ticket", ticket.as_str())];
    query.extend(room.map(|room| ("room", room)));
    let mut client = app.connect_with_query("public", &query).await?;
    let own = next(&mut client).await?;
    assert_eq!(
        (&own["event"], &own["meta"]),
        (&json!("join"), &json!({ "name": name })),
        "{own}"
    );
    Ok(client)
}

/// What `POST /login` answers.
#[derive(serde::Deserialize)]
struct Issued {
    ticket: String,
}

async fn ticket(app: &TestApp, name: &str) -> Result<String, TestError> {
    let issued: Issued = app
        .http("auth")
        .post_json("/login", &json!({ "name": name }))
        .await?
        .assert_status(200)?
        .json()?;
    Ok(issued.ticket)
}

/// The next message that is not the sweep's probe (the kit fires the
/// schedule every quarter second, and each run probes every member).
async fn next(client: &mut TestClient) -> Result<Value, TestError> {
    loop {
        let message: Value = client.recv_json().await?;
        if message["event"] != "probe" {
            return Ok(message);
        }
    }
}

/// Says `text` and returns the line as its speaker got it back.
async fn say(client: &mut TestClient, text: &str) -> Result<Value, TestError> {
    client.send_text(text).await?;
    let line = next(client).await?;
    assert_eq!(line["type"], "history", "{line}");
    assert_eq!(line["message"]["text"], text, "{line}");
    Ok(line)
}

#[tokio::test]
async fn members_see_each_other_come_and_go() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = enter(&app, "ada", None).await?;
    let bob = enter(&app, "bob", None).await?;

    let joined = next(&mut ada).await?;
    assert_eq!(
        (&joined["event"], &joined["room"], &joined["meta"]),
        (&json!("join"), &json!("lobby"), &json!({ "name": "bob" }))
    );
    bob.close().await?;
    let left = next(&mut ada).await?;
    assert_eq!(
        (&left["event"], &left["meta"]),
        (&json!("leave"), &json!({ "name": "bob" }))
    );
    assert_eq!(left["connection"], joined["connection"]);
    app.stop().await
}

#[tokio::test]
async fn lines_reach_the_room_numbered_with_their_speaker() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = enter(&app, "ada", Some("kitchen")).await?;
    let mut bob = enter(&app, "bob", Some("kitchen")).await?;
    let mut cy = enter(&app, "cy", None).await?;
    next(&mut ada).await?; // bob joins

    let first = say(&mut bob, "hello").await?;
    assert_eq!(next(&mut ada).await?, first);
    assert_eq!(first["message"]["from"], "bob");
    let second = say(&mut ada, "hi bob").await?;
    assert_eq!(next(&mut bob).await?, second);
    assert!(
        second["seq"].as_u64() > first["seq"].as_u64(),
        "{first} {second}"
    );

    // The lobby is another room: cy hears nothing of the kitchen.
    let own = say(&mut cy, "anyone?").await?;
    assert_eq!(own["room"], "lobby");
    app.stop().await
}

/// Ada and bob in `room`; bob sees a line, leaves, and misses two. Returns
/// ada, the last number bob saw, and the two lines he missed.
async fn bob_misses_two_lines(
    app: &TestApp,
    room: Option<&str>,
) -> Result<(TestClient, u64, [Value; 2]), TestError> {
    let mut ada = enter(app, "ada", room).await?;
    let mut bob = enter(app, "bob", room).await?;
    next(&mut ada).await?; // bob joins
    say(&mut ada, "before").await?;
    let seen = next(&mut bob).await?["seq"].as_u64().unwrap_or_default();

    bob.close().await?;
    assert_eq!(next(&mut ada).await?["event"], "leave");
    let missed = [
        say(&mut ada, "while away").await?,
        say(&mut ada, "still away").await?,
    ];
    Ok((ada, seen, missed))
}

/// Bob, back, gets exactly the `missed` lines, then the next live one.
async fn bob_gets_exactly(
    ada: &mut TestClient,
    bob: &mut TestClient,
    missed: &[Value; 2],
) -> Result<(), TestError> {
    for line in missed {
        assert_eq!(&next(bob).await?, line);
    }
    // Nothing more was replayed: the next thing bob gets is the next line.
    let after = say(ada, "welcome back").await?;
    assert_eq!(next(bob).await?, after);
    assert_eq!(
        after["seq"].as_u64(),
        missed[1]["seq"].as_u64().map(|seq| seq + 1)
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_resumes_gets_exactly_what_it_missed() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let (mut ada, seen, missed) = bob_misses_two_lines(&app, None).await?;

    // A ticket works once: coming back takes a new login.
    let mut bob = enter(&app, "bob", None).await?;
    assert_eq!(next(&mut ada).await?["event"], "join");
    bob.send_text(format!("resume {seen}")).await?;
    bob_gets_exactly(&mut ada, &mut bob, &missed).await?;
    app.stop().await
}

#[tokio::test]
async fn a_client_back_with_since_gets_exactly_what_it_missed() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let (mut ada, seen, missed) = bob_misses_two_lines(&app, Some("kitchen")).await?;

    // Back with a new ticket and the last number it saw: the connect
    // handler replays, and nothing needs to be asked.
    let ticket = ticket(&app, "bob").await?;
    let since = seen.to_string();
    let query = [
        ("ticket", ticket.as_str()),
        ("room", "kitchen"),
        ("since", &since),
    ];
    let mut bob = app.connect_with_query("public", &query).await?;
    // The room's announcement of the join, sent before the replay.
    assert_eq!(next(&mut bob).await?["event"], "join");
    assert_eq!(next(&mut ada).await?["event"], "join");
    bob_gets_exactly(&mut ada, &mut bob, &missed).await?;
    app.stop().await
}

#[tokio::test]
async fn a_ticket_is_refused_the_second_time_and_without_one() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let ticket = ticket(&app, "ada").await?;
    let ada = app
        .connect_with_query("public", &[("ticket", ticket.as_str())])
        .await?;
    let again = app
        .connect_refused_with_query("public", &[("ticket", ticket.as_str())])
        .await?;
    assert_eq!(again, 403);
    assert_eq!(app.connect_refused("public").await?, 403);
    ada.close().await?;
    app.stop().await
}

#[tokio::test]
async fn the_sweep_removes_a_member_whose_connection_is_gone() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = enter(&app, "ada", None).await?;
    // A member whose disconnect was lost, as on AWS: listed in the room,
    // with no connection behind it. Written as Presence writes a join.
    let presence = app.kv_store::<Value>("presence");
    presence
        .set("present:public:ghost:lobby", &json!({ "room": "lobby" }))
        .await?;
    presence
        .set(
            "presence:public:lobby:ghost",
            &json!({ "connection_id": "ghost", "meta": { "name": "casper" } }),
        )
        .await?;

    // The schedule runs every five test minutes (a quarter second).
    let left = next(&mut ada).await?;
    assert_eq!(
        (&left["event"], &left["connection"], &left["meta"]),
        (
            &json!("leave"),
            &json!("ghost"),
            &json!({ "name": "casper" })
        )
    );
    assert!(presence
        .keys("presence:public:lobby:ghost")
        .await?
        .is_empty());
    assert!(presence.keys("present:public:ghost:").await?.is_empty());
    app.stop().await
}
