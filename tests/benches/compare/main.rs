//! Side-by-side figures for issue 8, in one run: echo through the whole stack
//! against a bare echo server, runtime CPU per event against the official
//! Node and Python SDKs (beside the least CPU any process spends on the
//! same I/O), broadcast fan-out, start-up, and memory with idle
//! connections. Prints a markdown table at the end.
//!
//! Run with `cargo bench -p nitric-tests --bench compare` (a few minutes;
//! the first run also installs the SDKs, see `nitric_tests::interop`). The
//! figures and the machine they came from are recorded in BENCHMARKS.md.
//! Every loop is bounded in count and time and all traffic stays on
//! loopback. Naming sections after `--` runs only those (`echo`, `cpu`,
//! `broadcast`, `lobby`, `startup`, `idle`). An SDK that cannot be installed is
//! reported as unavailable in the table; the other figures are still
//! measured.

mod apps;
mod broadcast;
mod ceiling;
mod clients;
mod cpu;
mod echo;
mod floor;
mod idle;
mod lobby_login;
mod procfs;
mod report;
mod startup;

use apps::Lang;
use nitric_tests::interop::Sdk;
use report::Report;
use std::future::Future;
use std::time::Instant;

fn main() {
    if std::env::var_os(ceiling::ROLE).is_some() {
        ceiling::serve();
        return;
    }
    if std::env::var_os(floor::ROLE).is_some() {
        floor::serve();
        return;
    }
    // The idle-connection figures need a descriptor per connection in this
    // process and in the app, which inherits the limit.
    let limit = procfs::raise_open_files_limit(2 * idle::CONNECTIONS as u64 + 1_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a tokio runtime");
    let table = runtime.block_on(run(limit));
    println!("{table}");
}

async fn run(open_files_limit: u64) -> String {
    let started = Instant::now();
    let mut report = Report::default();
    let available = Availability::find().await;
    for (sdk, why) in [
        (Sdk::Node, &available.node),
        (Sdk::Python, &available.python),
    ] {
        if let Err(why) = why {
            report.note(format!("{} unavailable: {why}", Lang::Sdk(sdk).label()));
        }
    }
    let chosen = Chosen::from_args();
    if chosen.runs("echo") {
        echo::measure(&mut report).await;
    }
    if chosen.runs("cpu") {
        cpu::measure(&mut report, &available).await;
    }
    if chosen.runs("broadcast") {
        broadcast::measure(&mut report, &available).await;
    }
    if chosen.runs("lobby") {
        broadcast::measure_lobby(&mut report, &available).await;
    }
    if chosen.runs("startup") {
        startup::measure(&mut report, &available).await;
    }
    if chosen.runs("idle") {
        idle::measure(&mut report).await;
    }
    report.note(format!(
        "ours/peer divides our figure by the peer's: below 1 is better for times, CPU and \
         memory, above 1 for messages/s. Open-files limit {open_files_limit}; whole run {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    report.markdown()
}

/// The sections named on the command line (`cargo bench -p nitric-tests
/// --bench compare -- cpu idle`); all of them when none is named.
struct Chosen(Vec<String>);

impl Chosen {
    const SECTIONS: [&str; 6] = ["echo", "cpu", "broadcast", "lobby", "startup", "idle"];

    fn from_args() -> Self {
        // Cargo passes `--bench`; anything else is a section's name.
        let named: Vec<String> = std::env::args()
            .skip(1)
            .filter(|arg| !arg.starts_with('-'))
            .collect();
        for name in &named {
            assert!(
                Self::SECTIONS.contains(&name.as_str()),
                "no section {name:?}; the sections are {:?}",
                Self::SECTIONS
            );
        }
        Self(named)
    }

    fn runs(&self, section: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|name| name == section)
    }
}

/// Whether each official SDK could be installed, and if not, why.
pub struct Availability {
    node: Result<(), String>,
    python: Result<(), String>,
}

impl Availability {
    async fn find() -> Self {
        // `--ours-only`: measure this project alone, for quick iterations.
        if std::env::args().any(|arg| arg == "--ours-only") {
            let skipped = || Err("skipped (--ours-only)".to_owned());
            return Self {
                node: skipped(),
                python: skipped(),
            };
        }
        let install = |sdk: Sdk| async move {
            eprintln!("installing the {} SDK if needed", sdk.name());
            tokio::task::spawn_blocking(move || sdk.try_install())
                .await
                .unwrap_or_else(|error| Err(error.to_string()))
        };
        Self {
            node: install(Sdk::Node).await,
            python: install(Sdk::Python).await,
        }
    }

    /// `Err("unavailable")` for an SDK that could not be installed.
    pub fn check(&self, lang: Lang) -> Result<(), String> {
        let installed = match lang {
            Lang::Rust => &Ok(()),
            Lang::Sdk(Sdk::Node) => &self.node,
            Lang::Sdk(Sdk::Python) => &self.python,
        };
        installed
            .as_ref()
            .map_err(|_| format!("{} unavailable", lang.label()))
            .copied()
    }
}

/// Runs `measurement` in its own task; a panic in it (a timeout, a refused
/// connection) becomes `Err` with the panic's message, so one failed
/// figure does not lose the others.
pub async fn guarded<T: Send + 'static>(
    measurement: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(measurement).await.map_err(|error| {
        if !error.is_panic() {
            return error.to_string();
        }
        let panic = error.into_panic();
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "panicked".to_owned());
        let first_line = message.lines().next().unwrap_or_default();
        format!("failed: {first_line}")
    })
}
