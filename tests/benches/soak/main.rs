//! Soak: the chat example (release build, embedded membrane) as a process,
//! with 10,000 websocket connections held open while broadcasts deliver
//! 1,000,000 messages to them, every delivery counted. Reports errors, lost
//! and duplicated deliveries, throughput, and the app's resident memory
//! before, at peak and after every connection has closed.
//!
//! ```sh
//! cargo bench -p nitric-tests --bench soak                          # full size
//! cargo bench -p nitric-tests --bench soak -- --connections 1000 --deliveries 100000  # quick
//! ```
//!
//! Options (or the environment variable in brackets):
//! `--connections N` (`SOAK_CONNECTIONS`, default 10,000),
//! `--deliveries N` (`SOAK_DELIVERIES`, default 1,000,000; the run sends
//! deliveries / connections broadcasts, rounded up),
//! `--in-flight N` (`SOAK_IN_FLIGHT`, default 4: broadcasts under way at
//! once), `--shards N` (`SOAK_SHARDS`, default 16: client tasks),
//! `--time-limit SECONDS` (`SOAK_TIME_LIMIT`, default 900). `SOAK_APP_LOG`
//! is the app's `RUST_LOG` (default `warn`).
//!
//! Every loop is bounded in count and time, all traffic stays on loopback,
//! and the program stops by itself. It exits 1 if a delivery was lost or
//! duplicated, anything failed, or the app logged a warning or an error (its
//! log is read after stopping it with SIGINT). Figures are recorded in BENCHMARKS.md.

mod clients;
#[path = "../compare/procfs.rs"]
#[allow(dead_code)] // the soak reads memory and descriptors only
mod procfs;

use clients::{broadcast_text, start_shard, Command, Shard, Tally};
use nitric_tests::App;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// The chat example, built by this package.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");
/// Connects under way at once, over all shards.
const CONNECTING_AT_ONCE: usize = 64;
/// How often progress is checked and memory sampled.
const TICK: Duration = Duration::from_millis(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// Give up waiting for deliveries when none has arrived for this long.
const STALL: Duration = Duration::from_secs(60);
/// How often progress is printed.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Let memory settle before reading it.
const SETTLE: Duration = Duration::from_secs(1);
/// How much longer to wait before the last reading of the app's memory.
const QUIET: Duration = Duration::from_secs(5);
/// The longest the app may take to close every connection.
const CLOSE_LIMIT: Duration = Duration::from_secs(120);

/// The run's sizes.
#[derive(Debug)]
struct Sizes {
    connections: usize,
    deliveries: usize,
    in_flight: usize,
    shards: usize,
    time_limit: Duration,
}

impl Sizes {
    fn from_args_and_env() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let read = |flag: &str, variable: &str, default: usize| -> usize {
            let given = args
                .iter()
                .position(|arg| arg == flag)
                .and_then(|at| args.get(at + 1).cloned())
                .or_else(|| std::env::var(variable).ok());
            match given {
                Some(text) => text.replace(['_', ','], "").parse().unwrap_or_else(|_| {
                    panic!("{flag} ({variable}) expects a number, not {text:?}")
                }),
                None => default,
            }
        };
        Self {
            connections: read("--connections", "SOAK_CONNECTIONS", 10_000).max(1),
            deliveries: read("--deliveries", "SOAK_DELIVERIES", 1_000_000).max(1),
            in_flight: read("--in-flight", "SOAK_IN_FLIGHT", 4).max(1),
            shards: read("--shards", "SOAK_SHARDS", 16).max(1),
            time_limit: Duration::from_secs(read("--time-limit", "SOAK_TIME_LIMIT", 900) as u64),
        }
    }

    fn broadcasts(&self) -> usize {
        self.deliveries.div_ceil(self.connections)
    }
}

fn main() {
    let sizes = Sizes::from_args_and_env();
    // A descriptor per connection here and in the app, which inherits it.
    let limit = procfs::raise_open_files_limit(sizes.connections as u64 + 1_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a tokio runtime");
    let passed = runtime.block_on(soak(&sizes, limit));
    runtime.shutdown_timeout(Duration::from_secs(5));
    std::process::exit(if passed { 0 } else { 1 });
}

/// Resident memory of the app: before connecting, with every connection
/// open, the highest sampled, after every connection closed.
#[derive(Default)]
struct Memory {
    before: f64,
    connected: f64,
    after_messages: f64,
    peak: f64,
    after: f64,
    after_quiet: f64,
}

async fn soak(sizes: &Sizes, open_files_limit: u64) -> bool {
    let started = Instant::now();
    let deadline = started + sizes.time_limit;
    let broadcasts = sizes.broadcasts();
    eprintln!(
        "soak: {} connections, {broadcasts} broadcasts, {} in flight, {} shards, open-files limit {open_files_limit}",
        sizes.connections, sizes.in_flight, sizes.shards
    );
    let data = tempfile::tempdir().expect("create a data directory");
    let log = std::env::var("SOAK_APP_LOG").unwrap_or_else(|_| "warn".into());
    let mut app = App::start(CHAT, data.path(), &[("RUST_LOG", &log)]);
    let url = app.socket_url("public").await;
    let pid = app.pid();
    let descriptors = procfs::open_fds(pid);
    tokio::time::sleep(SETTLE).await;
    let mut memory = Memory {
        before: procfs::rss_mib(pid),
        ..Memory::default()
    };
    let peak = sample_peak(pid);

    // Connect, spread over the shards.
    let tally = Arc::new(Tally::new(broadcasts));
    let connecting = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let (opened_sender, mut opened) = mpsc::unbounded_channel();
    let connect_started = Instant::now();
    let shards: Vec<Shard> = (0..sizes.shards)
        .map(|index| {
            let count = sizes.connections / sizes.shards
                + usize::from(index < sizes.connections % sizes.shards);
            start_shard(
                index,
                url.clone(),
                count,
                connecting.clone(),
                tally.clone(),
                opened_sender.clone(),
            )
        })
        .collect();
    let mut members_per_shard = vec![0; shards.len()];
    for _ in 0..shards.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, opened.recv()).await {
            Ok(Some((shard, count))) => members_per_shard[shard] = count,
            _ => break,
        }
    }
    let members: usize = members_per_shard.iter().sum();
    let connect_time = connect_started.elapsed();
    eprintln!(
        "soak: {members} connections open after {:.1} s",
        connect_time.as_secs_f64()
    );
    tokio::time::sleep(SETTLE).await;
    memory.connected = procfs::rss_mib(pid);

    // Senders are picked among every open connection.
    let senders: Vec<(usize, usize)> = members_per_shard
        .iter()
        .enumerate()
        .flat_map(|(shard, &count)| (0..count).map(move |local| (shard, local)))
        .collect();

    // Broadcast, at most `in_flight` under way at once.
    let expected_each = u32::try_from(members).expect("fewer than 2^32 members");
    let mut sent_at = Vec::with_capacity(broadcasts);
    let mut done_at: Vec<Option<Instant>> = vec![None; broadcasts];
    let mut last_progress = (0, Instant::now());
    let mut last_report = Instant::now();
    let send_started = Instant::now();
    let mut timed_out = false;
    for seq in 0..broadcasts + 1 {
        // Wait until the broadcast `in_flight` places back has reached
        // everyone (for the last round: until all have).
        loop {
            observe(&tally, expected_each, &mut done_at);
            let waiting_for = if seq == broadcasts {
                (0..broadcasts).find(|&earlier| done_at[earlier].is_none())
            } else {
                seq.checked_sub(sizes.in_flight)
                    .filter(|&earlier| done_at[earlier].is_none())
            };
            if waiting_for.is_none() || members == 0 {
                break;
            }
            let received = tally.received.load(Ordering::Relaxed);
            if received != last_progress.0 {
                last_progress = (received, Instant::now());
            }
            if last_report.elapsed() >= REPORT_EVERY {
                last_report = Instant::now();
                eprintln!(
                    "soak: {received} deliveries, {} broadcasts sent",
                    sent_at.len()
                );
            }
            if last_progress.1.elapsed() > STALL || Instant::now() > deadline {
                timed_out = true;
                break;
            }
            tokio::time::sleep(TICK).await;
        }
        if timed_out || seq == broadcasts || senders.is_empty() {
            break;
        }
        let (shard, local) = senders[seq * 7_919 % senders.len()];
        let _ = shards[shard].commands.send(Command::Send {
            local,
            text: broadcast_text(seq),
        });
        sent_at.push(Instant::now());
    }
    let delivering = send_started.elapsed();
    tokio::time::sleep(SETTLE).await; // anything late still counts
    memory.after_messages = procfs::rss_mib(pid);

    // Close every connection, and wait until the app has let go of them.
    for shard in &shards {
        let _ = shard.commands.send(Command::Close);
    }
    let mut closed_cleanly = 0;
    for shard in shards {
        if let Ok(closed) = shard.task.await {
            closed_cleanly += closed.cleanly;
        }
    }
    let close_limit = Instant::now() + CLOSE_LIMIT;
    while procfs::open_fds(pid) > descriptors + 16 && Instant::now() < close_limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let app_descriptors_left = procfs::open_fds(pid).saturating_sub(descriptors);
    tokio::time::sleep(SETTLE).await;
    memory.after = procfs::rss_mib(pid);
    // The disconnects' handlers may still be running a second after the
    // close; a later reading shows what the app keeps once it is quiet.
    tokio::time::sleep(QUIET).await;
    memory.after_quiet = procfs::rss_mib(pid);
    memory.peak = peak.stop().max(memory.connected).max(memory.after_messages);
    let app_alive = std::fs::metadata(format!("/proc/{pid}")).is_ok();
    // Stop the app as Ctrl-C does, and read what it logged.
    app.interrupt();
    let (status, output) = app.exit().await;
    let logged = warnings(&output);

    let expected = broadcasts as u64 * members as u64;
    let received = tally.received.load(Ordering::Relaxed);
    let lost = expected.saturating_sub(received);
    let duplicates = tally.duplicates.load(Ordering::Relaxed);
    let unexpected = tally.unexpected.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);
    let closed_early = tally.closed_early.load(Ordering::Relaxed);
    let failed_connects = sizes.connections - members;
    let mut completion: Vec<Duration> = sent_at
        .iter()
        .zip(&done_at)
        .filter_map(|(sent, done)| done.map(|done| done.saturating_duration_since(*sent)))
        .collect();
    completion.sort();
    let percentile = |p: f64| -> String {
        if completion.is_empty() {
            return "—".into();
        }
        let at = ((completion.len() - 1) as f64 * p).round() as usize;
        format!("{:.0} ms", completion[at].as_secs_f64() * 1000.0)
    };
    let seconds = delivering.as_secs_f64();

    println!("| figure | value |");
    println!("|---|---:|");
    let row = |name: &str, value: String| println!("| {name} | {value} |");
    row(
        "connections asked for / opened",
        format!("{} / {members}", sizes.connections),
    );
    row(
        "time to open them",
        format!("{:.1} s", connect_time.as_secs_f64()),
    );
    row(
        "messages sent by clients (broadcasts)",
        format!("{} of {broadcasts}", sent_at.len()),
    );
    row(
        "deliveries expected (broadcasts × members)",
        format!("{expected}"),
    );
    row(
        "deliveries received (each member, each broadcast, once)",
        format!("{received}"),
    );
    row("lost deliveries", format!("{lost}"));
    row("duplicated deliveries", format!("{duplicates}"));
    row("unexpected messages", format!("{unexpected}"));
    row("errors (connects, sends, receives)", format!("{errors}"));
    row(
        "connections closed by the app before the end",
        format!("{closed_early}"),
    );
    row(
        "from the first send to the last delivery",
        format!("{seconds:.1} s"),
    );
    row(
        "throughput: deliveries/s",
        format!("{:.0}", received as f64 / seconds),
    );
    row(
        "throughput: messages sent/s",
        format!("{:.1}", sent_at.len() as f64 / seconds),
    );
    row("broadcast until every member has it: p50", percentile(0.5));
    row("broadcast until every member has it: p99", percentile(0.99));
    row("broadcast until every member has it: max", percentile(1.0));
    row(
        "app RSS before any connection",
        format!("{:.1} MiB", memory.before),
    );
    row(
        "app RSS with every connection open",
        format!("{:.1} MiB", memory.connected),
    );
    row(
        "app RSS at peak (sampled every 200 ms)",
        format!("{:.1} MiB", memory.peak),
    );
    row(
        "app RSS after the messages, connections still open",
        format!("{:.1} MiB", memory.after_messages),
    );
    row(
        "app RSS after every connection closed",
        format!("{:.1} MiB", memory.after),
    );
    row(
        "app RSS 5 s later",
        format!("{:.1} MiB", memory.after_quiet),
    );
    row(
        "connections closed cleanly (close handshake done)",
        format!("{closed_cleanly}"),
    );
    row(
        "app descriptors still open after closing",
        format!("{app_descriptors_left}"),
    );
    row(
        "app warnings and errors logged",
        format!("{}", logged.iter().map(|(count, _)| count).sum::<usize>()),
    );
    row("app exit after Ctrl-C", format!("{status}"));
    row(
        "whole run",
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    );

    let mut problems = Vec::new();
    if timed_out {
        problems.push("gave up waiting for deliveries (stalled or out of time)".to_owned());
    }
    for (count, what) in [
        (failed_connects as u64, "connections not opened"),
        (lost, "deliveries lost"),
        (duplicates, "deliveries duplicated"),
        (unexpected, "unexpected messages"),
        (errors, "errors"),
        (closed_early, "connections closed early"),
    ] {
        if count > 0 {
            problems.push(format!("{count} {what}"));
        }
    }
    if !app_alive {
        problems.push("the app died".to_owned());
    }
    if !status.success() {
        problems.push(format!("the app ended with {status} after Ctrl-C"));
    }
    for (count, kind) in &logged {
        problems.push(format!("the app logged {count}x: {kind}"));
    }
    if problems.is_empty() {
        eprintln!("soak: passed");
    } else {
        eprintln!("soak: FAILED: {}", problems.join(", "));
    }
    problems.is_empty()
}

/// The app's warnings and errors, counted by kind: the line without its
/// time, with ids and keys masked, and cut short.
fn warnings(output: &str) -> Vec<(usize, String)> {
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for line in output.lines() {
        let Some(at) = line.find(" WARN ").or_else(|| line.find(" ERROR ")) else {
            continue;
        };
        let kind: String = mask_ids(line[at..].trim()).chars().take(240).collect();
        *kinds.entry(kind).or_default() += 1;
    }
    let mut counted: Vec<(usize, String)> = kinds.into_iter().map(|(kind, n)| (n, kind)).collect();
    counted.sort_by_key(|(count, _)| std::cmp::Reverse(*count));
    counted
}

/// `text` with every UUID replaced by `<id>`.
fn mask_ids(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() || c == '-' {
            run.push(c);
            continue;
        }
        let is_uuid = run.len() == 36 && run.matches('-').count() == 4;
        masked.push_str(if is_uuid { "<id>" } else { &run });
        run.clear();
        masked.push(c);
    }
    masked.pop();
    masked
}

/// Marks each broadcast that has reached every member, with when.
fn observe(tally: &Tally, expected_each: u32, done_at: &mut [Option<Instant>]) {
    let now = Instant::now();
    for (count, done) in tally.per_broadcast.iter().zip(done_at.iter_mut()) {
        if done.is_none() && count.load(Ordering::Relaxed) >= expected_each {
            *done = Some(now);
        }
    }
}

/// The highest resident memory of `pid`, sampled in the background.
struct PeakSampler {
    stop: Arc<AtomicBool>,
    task: std::thread::JoinHandle<f64>,
}

fn sample_peak(pid: u32) -> PeakSampler {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    // A thread, so that sampling goes on however busy the runtime is.
    let task = std::thread::spawn(move || {
        let mut peak = 0.0f64;
        // Bounded: the time limit plus the closing, in samples.
        for _ in 0..100_000 {
            if stopping.load(Ordering::Relaxed) {
                break;
            }
            if std::fs::metadata(format!("/proc/{pid}")).is_err() {
                break;
            }
            peak = peak.max(procfs::rss_mib(pid));
            std::thread::sleep(SAMPLE_EVERY);
        }
        peak
    });
    PeakSampler { stop, task }
}

impl PeakSampler {
    fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.join().unwrap_or(0.0)
    }
}
