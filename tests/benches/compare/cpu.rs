//! CPU time per echo event in the app process alone: the echo app (Rust,
//! Node, Python) runs against a `nitric-local` membrane in its own process,
//! and the CPU time both processes used is read from `/proc` before and
//! after a fixed number of round trips, with 1 and with 64 in flight.
//! Beside them with 1 in flight, the I/O floor (see `floor.rs`): the CPU a
//! process spends per event on the same system calls with no work at all.

use crate::apps::{serving, Lang};
use crate::clients::{connect_many, drive};
use crate::floor::{self, Io};
use crate::procfs::{clock_tick, cpu_time};
use crate::report::{median, Figure, Report, Row, Target, Unit};
use crate::{guarded, Availability};
use nitric_tests::interop::Sdk;
use std::time::Duration;

/// (messages in flight, round trips per round).
const LOADS: [(usize, usize); 2] = [(1, 3_000), (64, 64 * 150)];
const ROUNDS: usize = 5;
const WARM_UP_EACH: usize = 30;
/// The longest one round may take.
const ROUND_LIMIT: Duration = Duration::from_secs(120);

/// CPU microseconds per event, for each of [`LOADS`]: (app, membrane).
type PerEvent = Vec<(f64, f64)>;

/// Adds the CPU rows to `report`: for each load, the app's rows beside
/// every peer (and the I/O floors with 1 in flight), then the membrane's.
pub async fn measure(report: &mut Report, available: &Availability) {
    let ours = per_lang(Lang::Rust, available).await;
    let mut peers = Vec::new();
    for peer in Lang::PEERS {
        peers.push((peer, per_lang(peer, available).await));
    }
    let tokio = floor_per_event(Io::Tokio).await;
    let blocking = floor_per_event(Io::Blocking).await;
    let pick = |figures: &Result<PerEvent, String>, index: usize, membrane: bool| -> Figure {
        let figures = figures.as_ref().map_err(Clone::clone)?;
        let (app, membrane_us) = figures[index];
        Ok(if membrane { membrane_us } else { app })
    };
    for (index, (in_flight, _)) in LOADS.iter().enumerate() {
        let app = format!("app CPU per echo event, {in_flight} in flight");
        for (peer, theirs) in &peers {
            let target = (*peer == Lang::Sdk(Sdk::Node)).then_some(Target {
                text: "≤ 0.05 of Node (≥20x lower)",
                met: |_, ratio| ratio <= 0.05,
            });
            report.row(Row {
                measure: app.clone(),
                unit: Unit::Micros,
                ours: pick(&ours, index, false),
                peer: peer.label().into(),
                theirs: pick(theirs, index, false),
                target,
            });
        }
        if index == 0 {
            for (io, floor) in [(Io::Tokio, &tokio), (Io::Blocking, &blocking)] {
                report.row(Row {
                    measure: app.clone(),
                    unit: Unit::Micros,
                    ours: pick(&ours, index, false),
                    peer: io.label().into(),
                    theirs: floor.clone(),
                    target: None,
                });
            }
        }
        for (peer, theirs) in &peers {
            report.row(Row {
                measure: format!("membrane CPU per echo event, {in_flight} in flight"),
                unit: Unit::Micros,
                ours: pick(&ours, index, true),
                peer: peer.label().into(),
                theirs: pick(theirs, index, true),
                target: None,
            });
        }
    }
    let node = peers
        .iter()
        .find(|(peer, _)| *peer == Lang::Sdk(Sdk::Node))
        .map_or_else(
            || Err("no Node peer".to_owned()),
            |(_, node)| pick(node, 0, false),
        );
    if let Some(note) = floor_note(pick(&ours, 0, false), node, tokio, blocking) {
        report.note(note);
    }
}

/// What the Node target asks with 1 in flight, against the floors measured
/// in the same run; `None` without the figures to say it.
fn floor_note(ours: Figure, node: Figure, tokio: Figure, blocking: Figure) -> Option<String> {
    let (ours, node, tokio, blocking) = (ours.ok()?, node.ok()?, tokio.ok()?, blocking.ok()?);
    let (_, events) = LOADS[0];
    let target = node / 20.0;
    let verdict = if target < blocking {
        "below both floors: a process doing nothing but these round trips misses it too"
    } else if target < tokio {
        "between the floors: met with no work by blocking reads, not by tokio's event loop"
    } else {
        "above both floors"
    };
    Some(format!(
        "1 in flight: 20x lower than Node's {node:.0} µs per event means at most \
         {target:.1} µs. The I/O floor, two loopback round trips per event with no work \
         (CPU is counted in clock ticks, {tick:.1} µs per event over a round's {events} \
         events), is {tokio:.1} µs with tokio and {blocking:.1} µs with blocking sockets; \
         the target is {verdict}. Ours is {over_tokio:.1}x the tokio floor, \
         {over_tokio_us:.1} µs above it.",
        tick = clock_tick().as_secs_f64() * 1e6 / events as f64,
        over_tokio = ours / tokio,
        over_tokio_us = ours - tokio,
    ))
}

/// CPU microseconds per event of the I/O floor's child waiting with `io`,
/// played one event at a time as many times and rounds as an app with 1
/// in flight.
async fn floor_per_event(io: Io) -> Figure {
    let (in_flight, events) = LOADS[0];
    assert_eq!(in_flight, 1, "the floor plays one event at a time");
    guarded(async move {
        eprintln!("cpu: {}", io.label());
        let (child, mut peer) = floor::start(io).await;
        peer.events(WARM_UP_EACH, ROUND_LIMIT).await;
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let before = cpu_time(child.pid());
            peer.events(events, ROUND_LIMIT).await;
            let used = cpu_time(child.pid()) - before;
            rounds.push(used.as_secs_f64() * 1e6 / events as f64);
        }
        drop(child);
        median(rounds)
    })
    .await
}

async fn per_lang(lang: Lang, available: &Availability) -> Result<PerEvent, String> {
    available.check(lang)?;
    guarded(async move {
        let (membrane, app, url) = serving(lang, "echo").await;
        let mut figures = Vec::new();
        for (in_flight, events) in LOADS {
            eprintln!("cpu: {} echo, {in_flight} in flight", lang.label());
            let mut sockets = drive(
                connect_many(&url, in_flight).await,
                WARM_UP_EACH,
                ROUND_LIMIT,
            )
            .await
            .sockets;
            let mut app_rounds = Vec::new();
            let mut membrane_rounds = Vec::new();
            for _ in 0..ROUNDS {
                let app_before = cpu_time(app.pid());
                let membrane_before = cpu_time(membrane.pid());
                let driven = drive(sockets, events / in_flight, ROUND_LIMIT).await;
                let app_used = cpu_time(app.pid()) - app_before;
                let membrane_used = cpu_time(membrane.pid()) - membrane_before;
                let done = driven.latencies.len();
                assert_eq!(done, events, "the round ran out of time");
                sockets = driven.sockets;
                let per_event = |used: Duration| used.as_secs_f64() * 1e6 / done as f64;
                app_rounds.push(per_event(app_used));
                membrane_rounds.push(per_event(membrane_used));
            }
            figures.push((median(app_rounds), median(membrane_rounds)));
        }
        drop(app);
        figures
    })
    .await
}
