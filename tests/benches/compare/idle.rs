//! Idle connections: the resident memory of the echo app with its embedded
//! membrane before, with 10,000 open websocket connections, and after they
//! close; the ceiling server alike. The clients run in this process, on the
//! same machine.

use crate::apps::{ECHO, MEMBRANE_LOG};
use crate::clients::connect_many;
use crate::procfs::{open_fds, rss_mib};
use crate::report::{Report, Row, Target, Unit};
use crate::{ceiling, guarded};
use nitric_tests::App;
use std::time::{Duration, Instant};

pub const CONNECTIONS: usize = 10_000;
const SETTLE: Duration = Duration::from_secs(1);
/// The longest the server may take to close every connection.
const CLOSE_LIMIT: Duration = Duration::from_secs(60);

/// The bare servers compared: tungstenite's defaults (a 128 KiB read
/// buffer per connection, allocated up front), and a 4 KiB read buffer.
const CEILINGS: [(&str, Option<usize>); 2] = [
    ("ceiling", None),
    ("ceiling, 4 KiB read buffer", Some(4 * 1024)),
];

/// Resident MiB: before connecting, with the connections open, after they
/// closed.
type Memory = [f64; 3];

/// Adds the idle-connection rows to `report`.
pub async fn measure(report: &mut Report) {
    let measured = guarded(async {
        eprintln!("idle: echo, {CONNECTIONS} connections");
        let data = tempfile::tempdir().expect("create a data directory");
        let mut app = App::start(ECHO, data.path(), &[("RUST_LOG", MEMBRANE_LOG)]);
        let url = app.socket_url("public").await;
        let ours = hold(&url, app.pid()).await;
        drop(app);
        let mut peers = Vec::new();
        for (peer, read_buffer) in CEILINGS {
            eprintln!("idle: {peer}, {CONNECTIONS} connections");
            let (ceiling, url) = ceiling::start(read_buffer).await;
            peers.push(hold(&url, ceiling.pid()).await);
        }
        (ours, peers)
    })
    .await;
    let (ours, peers) = match measured {
        Ok((ours, peers)) => (Ok(ours), peers.into_iter().map(Ok).collect()),
        Err(why) => (Err(why.clone()), vec![Err(why); CEILINGS.len()]),
    };
    let stages = [
        ("before any connection", None),
        (
            "with 10,000 idle connections",
            Some(Target {
                text: "< 100 MB",
                met: |ours, _| ours * 1.048_576 < 100.0,
            }),
        ),
        ("after those connections closed", None),
    ];
    for (index, (stage, target)) in stages.into_iter().enumerate() {
        let pick = |memory: &Result<Memory, String>| {
            memory.as_ref().map(|m| m[index]).map_err(Clone::clone)
        };
        for ((peer, _), theirs) in CEILINGS.iter().zip(&peers) {
            report.row(Row {
                measure: format!("echo with embedded membrane, resident memory {stage}"),
                unit: Unit::Mib,
                ours: pick(&ours),
                peer: (*peer).into(),
                theirs: pick(theirs),
                target,
            });
        }
    }
}

async fn hold(url: &str, pid: u32) -> Memory {
    let before = rss_mib(pid);
    let descriptors = open_fds(pid);
    let sockets = connect_many(url, CONNECTIONS).await;
    tokio::time::sleep(SETTLE).await;
    let with = rss_mib(pid);
    drop(sockets);
    let deadline = Instant::now() + CLOSE_LIMIT;
    while open_fds(pid) > descriptors + 16 {
        assert!(
            Instant::now() < deadline,
            "the server still had {} descriptors open {CLOSE_LIMIT:?} after the clients left",
            open_fds(pid)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(SETTLE).await;
    [before, with, rss_mib(pid)]
}
