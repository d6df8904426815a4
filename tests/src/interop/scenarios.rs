//! What the interop tests do with each official SDK's apps, the same for
//! both SDKs: real websocket clients against the app running on the
//! `nitric-local` binary, with the membrane's store checked directly.

use std::time::Duration;

use serde_json::json;

use super::{Membrane, Sdk};
use crate::Process;
use crate::{within, Client};

const STORE: &str = "connections";

/// The membrane, the app started against it, and the URL of `socket`,
/// once the app's policies are in (see [`Membrane::wait_for_policies`]).
async fn started(sdk: Sdk, app: &str, socket: &str, membrane: &str) -> (Membrane, Process, String) {
    started_after(sdk, app, socket, membrane, &[]).await
}

/// Like [`started`], also waiting for a membrane log line with each of
/// `logged` (such as the registration of each route).
pub(super) async fn started_after(
    sdk: Sdk,
    app: &str,
    socket: &str,
    membrane: &str,
    logged: &[&str],
) -> (Membrane, Process, String) {
    // Install before starting the membrane, so a slow first install does
    // not count against the membrane's step timeouts.
    sdk.install();
    let mut membrane = Membrane::start(membrane).await;
    let process = sdk.start(app, &membrane);
    let url = membrane.socket_url(socket).await;
    let stores: &[&str] = match app {
        "greeting" => &["Topic \"arrivals\""],
        "denied" => &["KeyValueStore \"audit\""],
        "routes" => &["KeyValueStore \"connections\"", "KeyValueStore \"ticks\""],
        _ => &["KeyValueStore \"connections\""],
    };
    let websocket = format!("Websocket \"{socket}\"");
    let policies: Vec<String> = stores
        .iter()
        .chain([&websocket.as_str()])
        .map(|resource| format!(" on {resource}"))
        .collect();
    let mut needles: Vec<&str> = policies.iter().map(String::as_str).collect();
    needles.extend(logged);
    membrane.wait_for_log_lines(&needles).await;
    (membrane, process, url)
}

/// Connects to `url`; `Err` carries the HTTP status of a refused upgrade.
///
/// The membrane announces a socket as its first handler registers; the
/// app's other handlers follow within moments. Until the connect handler is
/// there the gateway answers 503 without involving the app, so a 503 is
/// retried for a short while.
async fn try_connect(url: &str) -> Result<Client, u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Client::try_connect(url).await {
            Err(503) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            outcome => return outcome,
        }
    }
}

pub(super) async fn connect(url: &str) -> Client {
    try_connect(url)
        .await
        .unwrap_or_else(|status| panic!("connecting to {url} was refused with HTTP {status}"))
}

/// Waits until `store` holds exactly `count` keys, and returns them.
pub(super) async fn keys_once(membrane: &Membrane, count: usize) -> Vec<String> {
    within(
        &format!("the store holding {count} connection ids"),
        async {
            loop {
                let keys = membrane.keys(STORE).await;
                if keys.len() == count {
                    return keys;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await
}

/// Three clients chat: every message reaches everyone, one sender's
/// messages arrive in the order sent, and a closed connection's id leaves
/// the store (the disconnect handler) so the others keep chatting.
pub async fn chat_broadcasts_and_forgets_who_left(sdk: Sdk, membrane: &str) {
    let (membrane, _app, url) = started(sdk, "chat", "public", membrane).await;
    let mut ada = connect(&format!("{url}/?name=ada")).await;
    let mut bob = connect(&format!("{url}/?name=bob")).await;
    let mut cy = connect(&format!("{url}/?name=cy")).await;
    // The connect handler stores the id before answering, so it is there.
    let everyone = membrane.keys(STORE).await;
    assert_eq!(everyone.len(), 3, "{everyone:?}");

    ada.send("hello from ada").await;
    for client in [&mut ada, &mut bob, &mut cy] {
        assert_eq!(client.receive().await, "hello from ada");
    }

    let sent: Vec<String> = (1..=5).map(|n| format!("bob {n}")).collect();
    for text in &sent {
        bob.send(text).await;
    }
    for client in [&mut ada, &mut bob, &mut cy] {
        let mut received = Vec::new();
        for _ in &sent {
            received.push(client.receive().await);
        }
        assert_eq!(received, sent, "one connection's messages keep their order");
    }

    cy.close().await;
    let remaining = keys_once(&membrane, 2).await;
    assert!(
        remaining.iter().all(|id| everyone.contains(id)),
        "{everyone:?} -> {remaining:?}"
    );
    bob.send("cy left").await;
    for client in [&mut ada, &mut bob] {
        assert_eq!(client.receive().await, "cy left");
    }
}

/// A connect handler that rejects refuses the websocket handshake, and
/// nothing is stored for it; the next client still gets in.
pub async fn chat_refuses_a_rejected_connection(sdk: Sdk, membrane: &str) {
    let (membrane, _app, url) = started(sdk, "chat", "public", membrane).await;
    match try_connect(&format!("{url}/?reject=1")).await {
        Err(status) => assert_eq!(status, 403, "a refused connect answers HTTP 403"),
        Ok(_) => panic!("the {sdk:?} app rejected the connect, yet the handshake succeeded"),
    }
    assert_eq!(membrane.keys(STORE).await, Vec::<String>::new());

    let mut ada = connect(&format!("{url}/?name=ada")).await;
    assert_eq!(membrane.keys(STORE).await.len(), 1);
    ada.send("still open").await;
    assert_eq!(ada.receive().await, "still open");
}

/// Key/value values cross the wire intact both ways: what the SDK stores
/// reads back through the membrane as the same JSON object, what is
/// written through the membrane the SDK reads, and a missing key reaches
/// the SDK as its not-found error.
pub async fn chat_reads_writes_and_deletes_key_values(sdk: Sdk, membrane: &str) {
    let (membrane, _app, url) = started(sdk, "chat", "public", membrane).await;
    // The query string arrives decoded.
    let mut ada = connect(&format!("{url}/?name=ada%20lovelace")).await;
    let id = membrane
        .keys(STORE)
        .await
        .pop()
        .expect("ada's id is stored");
    assert_eq!(
        membrane.get(STORE, &id).await,
        Some(json!({ "name": "ada lovelace" }))
    );
    ada.send("whoami").await;
    assert_eq!(ada.receive().await, "you are ada lovelace");

    membrane.set(STORE, &id, json!({ "name": "grace" })).await;
    ada.send("whoami").await;
    assert_eq!(ada.receive().await, "you are grace");

    membrane.delete(STORE, &id).await;
    ada.send("whoami").await;
    assert_eq!(ada.receive().await, "you are unknown");

    // Without a name the SDK stores null.
    let anonymous = connect(&url).await;
    let stored = membrane.keys(STORE).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        membrane.get(STORE, &stored[0]).await,
        Some(json!({ "name": null }))
    );

    // The disconnect handler deletes.
    anonymous.close().await;
    keys_once(&membrane, 0).await;
}

/// Topic publish and subscribe: the connect handler publishes the arrival,
/// the subscriber greets the new connection (retried by the membrane until
/// the connection is ready), and messages are echoed.
pub async fn greeting_goes_through_a_topic(sdk: Sdk, membrane: &str) {
    let (_membrane, _app, url) = started(sdk, "greeting", "lobby", membrane).await;
    let mut ada = connect(&format!("{url}/?name=ada")).await;
    assert_eq!(ada.receive().await, "welcome, ada!");
    let mut stranger = connect(&url).await;
    assert_eq!(stranger.receive().await, "welcome, stranger!");

    ada.send("echo me").await;
    assert_eq!(ada.receive().await, "echo me");
    assert_eq!(
        stranger.receives_within(Duration::from_millis(300)).await,
        None,
        "an echo goes to its sender only"
    );
}

/// The membrane enforces policies for apps of the official SDKs too: a set
/// on a store the app declared read-only reaches the app as the SDK's
/// permission-denied error, with the membrane's explanation, and writes
/// nothing.
pub async fn an_undeclared_permission_is_denied(sdk: Sdk, membrane: &str) {
    let (membrane, _app, url) = started(sdk, "denied", "public", membrane).await;
    let mut ada = connect(&url).await;
    ada.send("write-denied").await;
    let reply = ada.receive().await;
    // Node: PermissionDeniedError: 7 PERMISSION_DENIED: ...;
    // Python: PermissionDeniedException: ...
    assert!(
        reply.starts_with("PermissionDenied"),
        "expected the SDK's permission-denied error, got {reply:?}"
    );
    assert!(
        reply.contains(
            "key/value store \"audit\": this service has no policy allowing KeyValueStoreWrite"
        ),
        "{reply}"
    );
    assert_eq!(membrane.keys("audit").await, Vec::<String>::new());
}
