//! CPU time per echo event in the app process alone: the echo app (Rust,
//! Node, Python) runs against a `nitric-local` membrane in its own process,
//! and the CPU time both processes used is read from `/proc` before and
//! after a fixed number of round trips, with 1 and with 64 in flight.

use crate::apps::{serving, Lang};
use crate::clients::{connect_many, drive};
use crate::procfs::cpu_time;
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

/// Adds the CPU rows to `report`.
pub async fn measure(report: &mut Report, available: &Availability) {
    let ours = per_lang(Lang::Rust, available).await;
    for peer in Lang::PEERS {
        let theirs = per_lang(peer, available).await;
        for (index, (in_flight, _)) in LOADS.iter().enumerate() {
            let pick = |figures: &Result<PerEvent, String>, membrane: bool| -> Figure {
                let figures = figures.as_ref().map_err(Clone::clone)?;
                let (app, membrane_us) = figures[index];
                Ok(if membrane { membrane_us } else { app })
            };
            let target = (peer == Lang::Sdk(Sdk::Node)).then_some(Target {
                text: "≤ 0.05 of Node (≥20x lower)",
                met: |_, ratio| ratio <= 0.05,
            });
            report.row(Row {
                measure: format!("app CPU per echo event, {in_flight} in flight"),
                unit: Unit::Micros,
                ours: pick(&ours, false),
                peer: peer.label().into(),
                theirs: pick(&theirs, false),
                target,
            });
            report.row(Row {
                measure: format!("membrane CPU per echo event, {in_flight} in flight"),
                unit: Unit::Micros,
                ours: pick(&ours, true),
                peer: peer.label().into(),
                theirs: pick(&theirs, true),
                target: None,
            });
        }
    }
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
