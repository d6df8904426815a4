//! What the interop tests do with the `routes` app of each SDK: HTTP
//! requests to its API and the firings of its schedule, on the
//! `nitric-local` binary, with real websocket clients watching what the
//! routes and the schedule send. The app is described in
//! `tests/interop/node/routes.js`.

use hyper::Method;
use serde_json::json;

use super::scenarios::{connect, keys_once, started_after};
use super::{Membrane, Sdk};
use crate::http::{request, HttpResponse};
use crate::Process;

/// The membrane's log lines saying the app's routes and schedule are
/// registered: until then a request to a route answers 404.
const REGISTERED: [&str; 6] = [
    "route registered api=main path=/hello/:name methods=[\"GET\"]",
    "route registered api=main path=/hello/:name methods=[\"OPTIONS\"]",
    "route registered api=main path=/broadcast ",
    "route registered api=main path=/url ",
    "route registered api=main path=/boom ",
    "schedule registered schedule=tick ",
];

/// The membrane, `sdk`'s routes app on it with everything registered, and
/// the socket's URL.
async fn started(sdk: Sdk, membrane: &str) -> (Membrane, Process, String) {
    started_after(sdk, "routes", "public", membrane, &REGISTERED).await
}

async fn get(url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(Method::GET, url, headers, "").await
}

/// Path parameters, query strings and request headers reach the SDK's
/// handler, its status, headers and body reach the client, an OPTIONS
/// route answers a preflight, `ApiDetails`
/// tells it the URL the client used, a handler that throws is answered
/// 500, and the membrane answers what no route takes.
pub async fn routes_answer_http_requests(sdk: Sdk, membrane: &str) {
    let (mut membrane, _app, _socket) = started(sdk, membrane).await;
    let api = membrane.api_url("main").await;

    let hello = get(&format!("{api}/hello/ada"), &[]).await;
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "hello, ada!"),
        "{hello:?}"
    );
    assert_eq!(hello.header("x-route"), Some("hello"), "{hello:?}");

    // A path parameter and a query value arrive percent-decoded.
    let query = get(&format!("{api}/hello/grace%20hopper?greeting=hi"), &[]).await;
    assert_eq!(query.text(), "hi, grace hopper!", "{query:?}");
    let header = get(&format!("{api}/hello/bob"), &[("X-Greeting", "hey")]).await;
    assert_eq!(header.text(), "hey, bob!", "{header:?}");

    let preflight = request(Method::OPTIONS, &format!("{api}/hello/ada"), &[], "").await;
    assert_eq!(preflight.status, 204, "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, OPTIONS"),
        "{preflight:?}"
    );

    let url = get(&format!("{api}/url"), &[]).await;
    assert_eq!((url.status, url.text()), (200, api.clone()), "{url:?}");

    let boom = get(&format!("{api}/boom"), &[]).await;
    assert_eq!(boom.status, 500, "{boom:?}");
    assert_eq!(boom.text(), "Internal Server Error");

    let nowhere = get(&format!("{api}/nowhere"), &[]).await;
    assert_eq!(nowhere.status, 404, "{nowhere:?}");
    let wrong_method = request(Method::DELETE, &format!("{api}/broadcast"), &[], "").await;
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    assert_eq!(
        wrong_method.header("allow"),
        Some("POST"),
        "{wrong_method:?}"
    );

    // The app answered everything, so it is still serving.
    let again = get(&format!("{api}/hello/ada"), &[]).await;
    assert_eq!(again.status, 200, "{again:?}");
}

/// A route's handler reaches the socket's connections: the body of a POST
/// goes to every connected client, and the answer counts them.
pub async fn a_route_sends_to_the_sockets(sdk: Sdk, membrane: &str) {
    let (mut membrane, _app, socket) = started(sdk, membrane).await;
    let api = membrane.api_url("main").await;
    let mut ada = connect(&format!("{socket}/?name=ada")).await;
    let mut bob = connect(&format!("{socket}/?name=bob")).await;
    keys_once(&membrane, 2).await;

    let posted = request(Method::POST, &format!("{api}/broadcast"), &[], "news").await;
    assert_eq!(posted.status, 202, "{posted:?}");
    assert_eq!(posted.json(), json!({ "sent": 2 }));
    for client in [&mut ada, &mut bob] {
        assert_eq!(client.receive().await, "news");
    }
}

/// The schedule fires again and again (a minute lasts 100 ms on the test
/// membrane, so "5 minutes" is half a second), each run sees what the last
/// one stored, a run reaches the connected clients, and a run that throws
/// (every second one) does not hold up the next: the Node SDK answers it
/// with an empty message, the Python SDK with an ordinary answer.
pub async fn the_schedule_fires_and_reaches_the_sockets(sdk: Sdk, membrane: &str) {
    let (membrane, _app, socket) = started(sdk, membrane).await;
    let mut ada = connect(&socket).await;
    let count = |tick: &str| -> u64 {
        tick.strip_prefix("tick ")
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("expected \"tick <count>\", got {tick:?}"))
    };
    let first = count(&ada.receive().await);
    let second = count(&ada.receive().await);
    let third = count(&ada.receive().await);
    assert_eq!(
        (second, third),
        (first + 1, first + 2),
        "each run counts on from the last"
    );
    let stored = membrane
        .get("ticks", "count")
        .await
        .expect("the count is stored");
    // Numbers are stored as a protobuf Struct's doubles.
    let stored_count = stored["count"].as_f64().expect("a number");
    assert!(stored_count >= third as f64, "{stored}");
}
