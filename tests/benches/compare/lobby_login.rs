//! A client of the lobby example's `POST /login`, for the broadcast
//! through the lobby: one HTTP/1.1 request over a fresh TCP connection,
//! which is all the route needs. (The example's own tests use the test
//! kit's client, `TestApp::http`; the benchmark runs the example as a
//! process, without the kit.)

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Logs `name` in at `api_url` (`http://host:port`, as `api::url("auth")`
/// gives it) and returns the ticket; `Err` with the response for anything
/// but a 200 carrying `{"ticket": ...}`.
pub async fn login(api_url: &str, name: &str) -> Result<String, String> {
    let host = api_url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {api_url}"))?
        .trim_end_matches('/');
    let body = serde_json::json!({ "name": name }).to_string();
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(host)
        .await
        .map_err(|error| format!("connect to {host}: {error}"))?;
    let mut response = String::new();
    let exchanged = async {
        stream.write_all(request.as_bytes()).await?;
        stream.read_to_string(&mut response).await
    };
    exchanged
        .await
        .map_err(|error| format!("POST {api_url}/login: {error}"))?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("POST {api_url}/login answered {response:?}"));
    }
    let issued: serde_json::Value =
        serde_json::from_str(body).map_err(|error| format!("{error}: {body:?}"))?;
    issued["ticket"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no ticket in {body:?}"))
}
