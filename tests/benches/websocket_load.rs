//! Load figures for an app on the embedded local membrane: echo round-trip
//! latency, echo throughput across many connections, broadcast fan-out, and
//! the app's resident memory afterwards.
//!
//! Run with `cargo bench -p nitric-tests --bench websocket_load`; the figures
//! and the machine they came from are recorded in BENCHMARKS.md. Every loop
//! is bounded and traffic stays on loopback.

use futures_util::future::join_all;
use nitric_tests::{App, Client};
use std::time::{Duration, Instant};

const ECHO_ROUND_TRIPS: usize = 2_000;
const THROUGHPUT_CLIENTS: usize = 50;
const THROUGHPUT_MESSAGES_EACH: usize = 200;
const BROADCAST_CLIENTS: usize = 20;
const BROADCAST_MESSAGES: usize = 100;

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().unwrap();

    let mut echo_app = App::start(
        env!("CARGO_BIN_EXE_behaviours"),
        data.path(),
        &[("RUST_LOG", "warn")],
    );
    let url = echo_app.socket_url("public").await;
    echo_latency(&url).await;
    echo_throughput(&url).await;
    println!(
        "echo app resident memory after load: {} MiB",
        resident_mib(&echo_app)
    );
    drop(echo_app);

    let chat_data = tempfile::tempdir().unwrap();
    let mut chat = App::start(
        env!("CARGO_BIN_EXE_chat"),
        chat_data.path(),
        &[("RUST_LOG", "warn")],
    );
    let url = chat.socket_url("public").await;
    broadcast_fan_out(&url).await;
    println!(
        "chat app resident memory after load: {} MiB",
        resident_mib(&chat)
    );
}

async fn echo_latency(url: &str) {
    let mut client = Client::connect(url).await;
    let mut samples = Vec::with_capacity(ECHO_ROUND_TRIPS);
    for index in 0..ECHO_ROUND_TRIPS {
        let text = format!("ping {index}");
        let started = Instant::now();
        client.send(&text).await;
        assert_eq!(client.receive().await, text);
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |fraction: f64| {
        samples[((samples.len() as f64 * fraction) as usize).min(samples.len() - 1)]
    };
    println!(
        "echo round trip over {ECHO_ROUND_TRIPS} sequential messages: p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

async fn echo_throughput(url: &str) {
    let started = Instant::now();
    let clients = (0..THROUGHPUT_CLIENTS).map(|_| async {
        let mut client = Client::connect(url).await;
        for index in 0..THROUGHPUT_MESSAGES_EACH {
            let text = format!("m{index}");
            client.send(&text).await;
            assert_eq!(client.receive().await, text);
        }
    });
    join_all(clients).await;
    let total = THROUGHPUT_CLIENTS * THROUGHPUT_MESSAGES_EACH;
    let elapsed = started.elapsed();
    println!(
        "echo throughput, {THROUGHPUT_CLIENTS} connections x {THROUGHPUT_MESSAGES_EACH} round trips: {total} in {elapsed:?} = {:.0} messages/s",
        per_second(total, elapsed)
    );
}

async fn broadcast_fan_out(url: &str) {
    let mut clients = Vec::new();
    for _ in 0..BROADCAST_CLIENTS {
        clients.push(Client::connect(url).await);
    }
    let started = Instant::now();
    for index in 0..BROADCAST_MESSAGES {
        let text = format!("b{index}");
        clients[0].send(&text).await;
        for client in clients.iter_mut() {
            assert_eq!(client.receive().await, text);
        }
    }
    let deliveries = BROADCAST_CLIENTS * BROADCAST_MESSAGES;
    let elapsed = started.elapsed();
    println!(
        "chat broadcast, {BROADCAST_MESSAGES} messages to {BROADCAST_CLIENTS} connections: {deliveries} deliveries in {elapsed:?} = {:.0} deliveries/s",
        per_second(deliveries, elapsed)
    );
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn resident_mib(app: &App) -> String {
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.pid())).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| format!("{:.1}", kib / 1024.0))
}
