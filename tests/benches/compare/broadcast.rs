//! Broadcast: one chat message to 1,000 connected clients, timed from the
//! send until every client has it, for the chat app in Rust, Node and
//! Python on a `nitric-local` membrane in its own process.

use crate::apps::{serving, Lang};
use crate::clients::{connect_many, WAIT};
use crate::report::{median, Figure, Report, Row, Target, Unit};
use crate::{guarded, Availability};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 1_000;
const WARM_UP: usize = 1;
const ROUNDS: usize = 5;
/// The longest one broadcast may take to reach everyone.
const ROUND_LIMIT: Duration = Duration::from_secs(20);
const PAUSE: Duration = Duration::from_millis(200);

/// Adds the broadcast rows to `report`.
pub async fn measure(report: &mut Report, available: &Availability) {
    let ours = per_lang(Lang::Rust, available).await;
    for peer in Lang::PEERS {
        let theirs = per_lang(peer, available).await;
        report.row(Row {
            measure: format!("broadcast to {CLIENTS} clients, until all have it (p50)"),
            unit: Unit::Millis,
            ours: ours.clone(),
            peer: peer.label().into(),
            theirs,
            target: Some(Target {
                text: "< 50 ms and ≤ 0.1 (≥10x faster)",
                met: |ours, ratio| ours < 50.0 && ratio <= 0.1,
            }),
        });
    }
}

async fn per_lang(lang: Lang, available: &Availability) -> Figure {
    available.check(lang)?;
    guarded(async move {
        eprintln!("broadcast: {} chat", lang.label());
        let (membrane, app, url) = serving(lang, "chat").await;
        let sockets = connect_many(&url, CLIENTS).await;
        let (arrived, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
        let mut senders = Vec::with_capacity(CLIENTS);
        let mut readers = Vec::with_capacity(CLIENTS);
        for socket in sockets {
            let (sender, mut receiver) = socket.split();
            senders.push(sender);
            let arrived = arrived.clone();
            readers.push(tokio::spawn(async move {
                while let Some(Ok(message)) = receiver.next().await {
                    let round = message
                        .to_text()
                        .ok()
                        .and_then(|text| text.strip_prefix("round "))
                        .and_then(|round| round.parse().ok());
                    if let Some(round) = round {
                        if arrived.send((round, Instant::now())).is_err() {
                            return;
                        }
                    }
                }
            }));
        }
        let mut times = Vec::new();
        for round in 0..WARM_UP + ROUNDS {
            let started = Instant::now();
            tokio::time::timeout(
                WAIT,
                senders[0].send(Message::text(format!("round {round}"))),
            )
            .await
            .expect("sending took too long")
            .expect("send the broadcast");
            let last = tokio::time::timeout(ROUND_LIMIT, async {
                let mut reached = 0;
                let mut last = started;
                while reached < CLIENTS {
                    let (which, at) = arrivals.recv().await.expect("readers are running");
                    if which == round {
                        reached += 1;
                        last = last.max(at);
                    }
                }
                last
            })
            .await
            .unwrap_or_else(|_| {
                panic!("round {round} did not reach every client within {ROUND_LIMIT:?}")
            });
            if round >= WARM_UP {
                times.push((last - started).as_secs_f64() * 1e3);
            }
            tokio::time::sleep(PAUSE).await;
        }
        drop(app);
        drop(membrane);
        for reader in readers {
            reader.abort();
        }
        median(times)
    })
    .await
}
