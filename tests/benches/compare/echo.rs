//! Echo through the whole stack (the echo example on its embedded membrane:
//! gateway, event stream, handler, `SendMessage`, gateway) against the
//! ceiling, with the same clients: messages per second and latency at 1, 100
//! and 1,000 connections, one message in flight on each.

use crate::apps::{ECHO, MEMBRANE_LOG};
use crate::clients::{connect_many, drive, Socket};
use crate::report::{median, quantile, Report, Row, Target, Unit};
use crate::{ceiling, guarded};
use nitric_tests::App;
use std::time::Duration;

const CONNECTIONS: [usize; 3] = [1, 100, 1_000];
const ROUNDS: usize = 5;
const WINDOW: Duration = Duration::from_secs(1);
const WARM_UP: Duration = Duration::from_millis(300);

/// Medians over the rounds.
struct Figures {
    per_second: f64,
    p50_micros: f64,
    p99_micros: f64,
}

/// Adds the echo rows to `report`.
pub async fn measure(report: &mut Report) {
    let measured = guarded(async {
        let data = tempfile::tempdir().expect("create a data directory");
        let mut app = App::start(ECHO, data.path(), &[("RUST_LOG", MEMBRANE_LOG)]);
        let ours = app.socket_url("public").await;
        let (_ceiling, bare) = ceiling::start(None).await;
        let mut all = Vec::new();
        for connections in CONNECTIONS {
            eprintln!("echo: {connections} connections");
            let figures = side_by_side(&ours, &bare, connections).await;
            all.push((connections, figures));
        }
        drop(app);
        all
    })
    .await;
    let measured = match measured {
        Ok(measured) => measured,
        Err(why) => {
            report.note(format!("echo: failed: {why}"));
            return;
        }
    };
    for (connections, (ours, bare)) in measured {
        let at = format!(
            "{connections} connection{}",
            if connections == 1 { "" } else { "s" }
        );
        let row = |what: &str, unit, ours: f64, theirs: f64, target| Row {
            measure: format!("echo through the stack, {at}: {what}"),
            unit,
            ours: Ok(ours),
            peer: "ceiling".into(),
            theirs: Ok(theirs),
            target,
        };
        let target = (connections == 100).then_some(Target {
            text: "≥ 0.40 of bare echo",
            met: |_, ratio| ratio >= 0.40,
        });
        report.row(row(
            "messages/s",
            Unit::PerSecond,
            ours.per_second,
            bare.per_second,
            target,
        ));
        report.row(row(
            "p50 latency",
            Unit::Micros,
            ours.p50_micros,
            bare.p50_micros,
            None,
        ));
        report.row(row(
            "p99 latency",
            Unit::Micros,
            ours.p99_micros,
            bare.p99_micros,
            None,
        ));
    }
}

/// Rounds alternate between the two servers, so a change in the machine's
/// load hits both alike.
async fn side_by_side(ours: &str, bare: &str, connections: usize) -> (Figures, Figures) {
    let mut sockets = [
        connect_many(ours, connections).await,
        connect_many(bare, connections).await,
    ];
    let mut rounds: [Vec<(f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..=ROUNDS {
        for (which, slot) in sockets.iter_mut().enumerate() {
            let window = if round == 0 { WARM_UP } else { WINDOW };
            let (figures, back) = one_round(std::mem::take(slot), window).await;
            *slot = back;
            if round > 0 {
                rounds[which].push(figures);
            }
        }
    }
    let [ours, bare] = rounds.map(|rounds| Figures {
        per_second: median(rounds.iter().map(|round| round.0).collect()),
        p50_micros: median(rounds.iter().map(|round| round.1).collect()),
        p99_micros: median(rounds.iter().map(|round| round.2).collect()),
    });
    (ours, bare)
}

async fn one_round(sockets: Vec<Socket>, window: Duration) -> ((f64, f64, f64), Vec<Socket>) {
    let mut driven = drive(sockets, usize::MAX, window).await;
    driven.latencies.sort_unstable();
    let count = driven.latencies.len();
    let figures = (
        count as f64 / driven.elapsed.as_secs_f64(),
        quantile(&driven.latencies, 0.50),
        quantile(&driven.latencies, 0.99),
    );
    (figures, driven.sockets)
}
