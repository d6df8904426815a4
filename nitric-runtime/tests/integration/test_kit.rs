//! The test kit and service scoping, on a small app: every test starts its
//! own service on its own local membrane, in parallel in this one binary.

use nitric_runtime::kv::KvStore;
use nitric_runtime::testing::{Received, TestApp, TestError};
use nitric_runtime::topic::Topic;
use nitric_runtime::websocket::{
    ConnectContext, DisconnectContext, MessageContext, Reject, Websocket,
};
use nitric_runtime::{kv_store, subscribe, topic, websocket, BoxError, Error, ServiceHandle};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Visitor {
    name: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Said {
    connection_id: String,
    text: String,
}

#[kv_store("visitors", allow = [set, delete])]
static VISITORS: KvStore<Visitor>;

#[topic("said", allow = [publish])]
static SAID: Topic<Said>;

#[websocket("echo", on = "connect")]
async fn connect(ctx: ConnectContext) -> Result<(), BoxError> {
    let join: Join = ctx
        .query_as()
        .map_err(|error| Reject::new(error.to_string()))?;
    let visitor = Visitor { name: join.name };
    Ok(VISITORS.set(ctx.connection_id(), &visitor).await?)
}

/// The connect query, typed.
#[derive(Deserialize)]
struct Join {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // read to check its type
    age: Option<u32>,
}

#[websocket("echo", on = "disconnect")]
async fn disconnect(ctx: DisconnectContext) -> Result<(), Error> {
    VISITORS.delete(ctx.connection_id()).await
}

#[websocket("echo", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), Error> {
    match ctx.body() {
        b"json" => {
            let reply = serde_json::json!({ "you": ctx.connection_id() });
            ctx.socket().send_json(ctx.connection_id(), &reply).await
        }
        b"broadcast json" => {
            let report = ctx
                .socket()
                .broadcast_json(
                    [ctx.connection_id(), "gone-already"],
                    &serde_json::json!([1, 2]),
                )
                .await?;
            let summary = format!("sent {} gone {:?}", report.sent, report.gone);
            ctx.socket().send(ctx.connection_id(), summary).await
        }
        b"later" => {
            // A task spawned with nitric_runtime::spawn keeps the service.
            let id = ctx.connection_id().to_owned();
            nitric_runtime::spawn(async move {
                Websocket::new("echo")
                    .send(&id, "from a spawned task")
                    .await
            });
            Ok(())
        }
        b"detached" => {
            // A plain tokio::spawn leaves it behind: the call says so.
            let id = ctx.connection_id().to_owned();
            let socket = ctx.socket().clone();
            let outcome = tokio::spawn(async move { Websocket::new("echo").send(&id, "x").await })
                .await
                .expect("the task does not panic");
            let reply = match outcome {
                Err(Error::NotRunning { .. }) => "not running".to_owned(),
                other => format!("unexpected: {other:?}"),
            };
            socket.send(ctx.connection_id(), reply).await
        }
        body => {
            let said = Said {
                connection_id: ctx.connection_id().to_owned(),
                text: String::from_utf8_lossy(body).into_owned(),
            };
            SAID.publish(&said).await?;
            ctx.socket().send(ctx.connection_id(), body).await
        }
    }
}

/// A socket whose connect handler has a time limit.
#[websocket("timed", on = "connect", timeout = "200ms")]
async fn timed_connect(ctx: ConnectContext) {
    if ctx.query().get("slow").is_some() {
        // Never finishes: only the time limit can end it.
        std::future::pending::<()>().await;
    }
}

#[websocket("timed", on = "disconnect")]
async fn timed_disconnect(_ctx: DisconnectContext) {}

#[websocket("timed", on = "message")]
async fn timed_message(ctx: MessageContext) -> Result<(), Error> {
    ctx.socket().send(ctx.connection_id(), ctx.body()).await
}

/// Echoes what the test publishes to "commands" to the connection named in it.
#[subscribe("commands")]
async fn command(said: Said) -> Result<(), Error> {
    Websocket::new("echo")
        .send(&said.connection_id, format!("command: {}", said.text))
        .await
}

#[tokio::test]
async fn clients_send_and_receive_every_kind_of_frame() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app
        .connect_with_query("echo", &[("name", "ada lovelace")])
        .await?;

    ada.send_text("hello").await?;
    assert_eq!(ada.recv_text().await?, "hello");
    ada.send_binary(vec![0xff, 0x00]).await?;
    assert_eq!(ada.recv().await?, Received::Binary(vec![0xff, 0x00]));
    ada.send_json(&serde_json::json!({ "n": 1 })).await?;
    assert_eq!(
        ada.recv_json::<serde_json::Value>().await?,
        serde_json::json!({ "n": 1 })
    );
    ada.expect_silence(Duration::from_millis(100)).await?;

    ada.send_text("again").await?;
    let error = ada
        .expect_silence(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("expected no message"), "{error}");
    ada.close().await?;
    app.stop().await
}

#[tokio::test]
async fn refusals_and_stores_are_visible_to_the_test() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    assert_eq!(app.connect_refused("echo").await?, 403);

    let visitors = app.kv_store::<Visitor>("visitors");
    let ada = app.connect_with_query("echo", &[("name", "ada")]).await?;
    let keys = visitors.keys("").await?;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        visitors.get(&keys[0]).await?,
        Some(Visitor { name: "ada".into() })
    );

    // The app only declared `set` and `delete`; the kit reads anyway, and
    // the app's own static says what is missing.
    let denied = app.scope(async { VISITORS.get(&keys[0]).await }).await;
    assert!(
        matches!(denied, Err(Error::NotAllowed { .. })),
        "{denied:?}"
    );

    ada.close().await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !visitors.keys("").await.expect("list keys").is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the disconnect handler deletes the visitor");
    app.stop().await
}

#[tokio::test]
async fn topics_can_be_published_to_and_watched() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut said = app.topic::<Said>("said").subscribe().await?;
    let mut ada = app.connect_with_query("echo", &[("name", "ada")]).await?;

    ada.send_text("hi").await?;
    assert_eq!(ada.recv_text().await?, "hi");
    let published = said.recv().await?;
    assert_eq!(published.text, "hi");

    let command = Said {
        connection_id: published.connection_id,
        text: "wave".into(),
    };
    app.topic::<Said>("commands").publish(&command).await?;
    assert_eq!(ada.recv_text().await?, "command: wave");
    app.stop().await
}

#[tokio::test]
async fn handler_tasks_keep_their_service_only_through_nitric_spawn() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    let mut ada = app.connect_with_query("echo", &[("name", "ada")]).await?;
    ada.send_text("later").await?;
    assert_eq!(ada.recv_text().await?, "from a spawned task");
    ada.send_text("detached").await?;
    assert_eq!(ada.recv_text().await?, "not running");
    app.stop().await
}

#[tokio::test]
async fn clients_outside_a_service_say_what_to_do() {
    let error = VISITORS.delete("x").await.unwrap_err();
    assert!(matches!(error, Error::NotRunning { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("delete key \"x\" from key/value store \"visitors\": no Nitric service is running for this task"), "{message}");
    assert!(message.contains("nitric_runtime::spawn"), "{message}");
    assert!(ServiceHandle::current().is_err());
}

#[tokio::test]
async fn two_services_run_side_by_side_and_one_stops_alone() -> Result<(), TestError> {
    let (first, second) = tokio::try_join!(TestApp::start(), TestApp::start())?;
    assert_ne!(first.url("echo").await?, second.url("echo").await?);
    let mut on_first = first.connect_with_query("echo", &[("name", "ada")]).await?;
    let mut on_second = second
        .connect_with_query("echo", &[("name", "grace")])
        .await?;

    // Each service keeps its own data.
    assert_eq!(
        first.kv_store::<Visitor>("visitors").keys("").await?.len(),
        1
    );
    assert_eq!(
        second.kv_store::<Visitor>("visitors").keys("").await?.len(),
        1
    );

    // Both answer at the same time.
    let (first_echo, second_echo) = tokio::join!(
        async {
            on_first.send_text("one").await?;
            on_first.recv_text().await
        },
        async {
            on_second.send_text("two").await?;
            on_second.recv_text().await
        }
    );
    assert_eq!(first_echo?, "one");
    assert_eq!(second_echo?, "two");

    first.stop().await?;
    assert!(
        on_first.recv().await.is_err(),
        "the stopped service's gateway closed"
    );

    // The second keeps answering, through every kind of client.
    for round in 0..3 {
        on_second.send_text(format!("still here {round}")).await?;
        assert_eq!(on_second.recv_text().await?, format!("still here {round}"));
    }
    on_second.send_text("later").await?;
    assert_eq!(on_second.recv_text().await?, "from a spawned task");
    let mut another = second
        .connect_with_query("echo", &[("name", "alan")])
        .await?;
    another.send_text("hello").await?;
    assert_eq!(another.recv_text().await?, "hello");
    second.stop().await
}

#[tokio::test]
async fn typed_queries_and_json_replies() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    // A query that does not fit the type refuses the connection.
    let refused = app
        .connect_refused_with_query("echo", &[("name", "ada"), ("age", "old")])
        .await?;
    assert_eq!(refused, 403);
    let mut ada = app
        .connect_with_query("echo", &[("name", "ada"), ("age", "36")])
        .await?;

    ada.send_text("json").await?;
    let reply: serde_json::Value = ada.recv_json().await?;
    assert!(reply["you"].is_string(), "{reply}");

    ada.send_text("broadcast json").await?;
    assert_eq!(ada.recv_text().await?, "[1,2]");
    assert_eq!(ada.recv_text().await?, "sent 1 gone [\"gone-already\"]");
    app.stop().await
}

#[tokio::test]
async fn a_handler_past_its_timeout_is_abandoned_as_failed() -> Result<(), TestError> {
    let app = TestApp::start().await?;
    // The handler never finishes, so only its 200 ms limit can refuse it.
    assert_eq!(
        app.connect_refused_with_query("timed", &[("slow", "1")])
            .await?,
        403
    );
    let mut quick = app.connect("timed").await?;
    quick.send_text("in time").await?;
    assert_eq!(quick.recv_text().await?, "in time");
    app.stop().await
}
