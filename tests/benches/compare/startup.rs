//! Start-up: from starting the app's process until the membrane has
//! registered every handler, and the app's resident memory at that moment.
//! Rust, Node and Python echo and chat apps on a `nitric-local` membrane in
//! its own process; and the Rust echo on its embedded membrane.

use crate::apps::{self, Lang, ECHO, HANDLERS, MEMBRANE_LOG, REGISTERED, UNREGISTERED};
use crate::procfs::rss_mib;
use crate::report::{median, Figure, Report, Row, Target, Unit};
use crate::{guarded, Availability};
use nitric_tests::App;
use std::time::Instant;

const ROUNDS: usize = 5;
const APPS: [&str; 2] = ["echo", "chat"];

const FAST_START: Target = Target {
    text: "< 10 ms",
    met: |ours, _| ours < 10.0,
};
const SMALL_START: Target = Target {
    text: "< 8 MB",
    met: |ours, _| ours * 1.048_576 < 8.0,
};

/// (milliseconds to registered, MiB then), medians.
type Started = Result<(f64, f64), String>;

/// Adds the start-up rows to `report`.
pub async fn measure(report: &mut Report, available: &Availability) {
    for app in APPS {
        let ours = per_lang(Lang::Rust, app, available).await;
        for peer in Lang::PEERS {
            let theirs = per_lang(peer, app, available).await;
            let pick = |started: &Started, memory: bool| -> Figure {
                started
                    .as_ref()
                    .map(|(millis, mib)| if memory { *mib } else { *millis })
                    .map_err(Clone::clone)
            };
            report.row(Row {
                measure: format!("{app}: start to every handler registered"),
                unit: Unit::Millis,
                ours: pick(&ours, false),
                peer: peer.label().into(),
                theirs: pick(&theirs, false),
                target: Some(FAST_START),
            });
            report.row(Row {
                measure: format!("{app}: resident memory when registered"),
                unit: Unit::Mib,
                ours: pick(&ours, true),
                peer: peer.label().into(),
                theirs: pick(&theirs, true),
                target: Some(SMALL_START),
            });
        }
    }
    let embedded = guarded(embedded_echo()).await;
    for (memory, unit, what) in [
        (false, Unit::Millis, "start to every handler registered"),
        (true, Unit::Mib, "resident memory when registered"),
    ] {
        report.row(Row {
            measure: format!("echo with its embedded membrane: {what}"),
            unit,
            ours: embedded
                .as_ref()
                .map(|(millis, mib)| if memory { *mib } else { *millis })
                .map_err(Clone::clone),
            peer: "—".into(),
            theirs: Err("—".into()),
            target: None,
        });
    }
}

async fn per_lang(lang: Lang, app: &'static str, available: &Availability) -> Started {
    available.check(lang)?;
    guarded(async move {
        eprintln!("start-up: {} {app}", lang.label());
        let mut membrane = apps::membrane().await;
        let mut millis = Vec::new();
        let mut mib = Vec::new();
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let running = lang.start(app, &membrane);
            apps::wait_for(&mut membrane, REGISTERED, HANDLERS).await;
            millis.push(started.elapsed().as_secs_f64() * 1e3);
            mib.push(rss_mib(running.pid()));
            drop(running);
            // The next app may register only once these streams are gone.
            apps::wait_for(&mut membrane, UNREGISTERED, HANDLERS).await;
        }
        (median(millis), median(mib))
    })
    .await
}

async fn embedded_echo() -> (f64, f64) {
    eprintln!("start-up: Rust echo, embedded membrane");
    let mut millis = Vec::new();
    let mut mib = Vec::new();
    for _ in 0..ROUNDS {
        let data = tempfile::tempdir().expect("create a data directory");
        let started = Instant::now();
        let mut app = App::start(ECHO, data.path(), &[("RUST_LOG", MEMBRANE_LOG)]);
        for _ in 0..HANDLERS {
            app.stderr_line(REGISTERED).await;
        }
        millis.push(started.elapsed().as_secs_f64() * 1e3);
        mib.push(rss_mib(app.pid()));
    }
    (median(millis), median(mib))
}
