//! Schedules: application streams the membrane calls on a cadence.
//!
//! - **Registration.** An application registers a schedule by name with a
//!   rate (Nitric's words, "5 minutes") or a 5-field cron expression. One
//!   stream per name at a time (names match exactly): a second registration
//!   of a name still registered is refused with ALREADY_EXISTS, as a second
//!   handler of a websocket event is.
//! - **Firing.** A rate fires first one period after the registration, then
//!   every period; a cron expression fires at the start of each minute it
//!   matches, in UTC. Each firing sends an interval request down the stream
//!   and waits for its answer, at most [`ScheduleTiming::answer_timeout`].
//!   A run that outlasts the period delays the next firing; firings missed
//!   meanwhile are skipped, never queued, so a slow handler never runs twice
//!   at once.
//! - **Time.** Tokio timers drive the firings. For tests,
//!   [`ScheduleTiming::minute`] says how long a minute of a rate lasts
//!   (cron expressions always follow the clock).
//!
//! Inside: [`cadence`] reads the cadence of a registration, [`cron`] the
//! expressions.

mod cadence;
mod cron;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use nitric_protocol::schedules::v1::{server_message, IntervalRequest, ServerMessage};
use tokio_util::sync::CancellationToken;

use crate::app_stream::{PairedStream, Unanswered};
use crate::lock;
pub(crate) use cadence::Cadence;

/// How schedules keep time ([`Config::schedule_timing`](crate::Config::schedule_timing)).
///
/// A shorter minute makes rates fire sooner, to watch a schedule work
/// while developing or to test it; cron expressions always follow the wall
/// clock.
///
/// ```
/// use std::time::Duration;
/// use nitric_local::{Config, ScheduleTiming};
///
/// // "every 5 minutes" fires every 5 seconds.
/// let config = Config {
///     schedule_timing: ScheduleTiming {
///         minute: Duration::from_secs(1),
///         ..ScheduleTiming::default()
///     },
///     ..Config::embedded()
/// };
/// assert_eq!(config.schedule_timing.answer_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTiming {
    /// How long a minute of a rate lasts: one minute by default
    /// (`NITRIC_LOCAL_SCHEDULE_MINUTE`, `--schedule-minute`).
    pub minute: Duration,
    /// How long a schedule's handler may take to answer a firing.
    pub answer_timeout: Duration,
}

/// What [`ScheduleTiming::answer_timeout`] is by default.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for ScheduleTiming {
    fn default() -> Self {
        Self {
            minute: Duration::from_secs(60),
            answer_timeout: ANSWER_TIMEOUT,
        }
    }
}

/// The names of the schedules registered now.
#[derive(Debug, Default)]
pub(crate) struct ScheduleBook {
    names: Mutex<HashSet<String>>,
}

/// A schedule's name held by its stream; released when dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    book: Arc<ScheduleBook>,
    name: String,
}

impl ScheduleBook {
    /// Holds `name` for one stream, or says that another stream holds it.
    pub(crate) fn claim(self: &Arc<Self>, name: &str) -> Result<Claim, String> {
        if !lock(&self.names).insert(name.to_owned()) {
            return Err(format!(
                "schedule \"{name}\" is already registered; only one stream may run each schedule"
            ));
        }
        Ok(Claim {
            book: self.clone(),
            name: name.to_owned(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.book.names).remove(&self.name);
    }
}

/// The membrane's side of one schedule's stream: interval requests sent,
/// paired with their (empty) answers.
pub(crate) type ScheduleStream = PairedStream<ServerMessage, ()>;

/// Fires the schedule `name` on `cadence` down `stream` until `stop` (the
/// stream ended, or the membrane stopping).
pub(crate) async fn fire(
    name: String,
    cadence: Cadence,
    stream: Arc<ScheduleStream>,
    timing: ScheduleTiming,
    stop: CancellationToken,
) {
    let mut next = tokio::time::Instant::now();
    loop {
        let Some(wait) = cadence.wait_from(SystemTime::now()) else {
            tracing::warn!(schedule = %name, "the cron expression matches no date in the next eight years; the schedule never fires");
            return;
        };
        // A rate counts from its previous firing, so a quick handler keeps
        // the period; a slow one skips the firings it overran.
        next = match cadence {
            Cadence::Every(period) => {
                let mut due = next + period;
                let now = tokio::time::Instant::now();
                while due <= now {
                    due += period;
                }
                due
            }
            Cadence::Cron(_) => tokio::time::Instant::now() + wait,
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = stop.cancelled() => return,
        }
        let request = |id| {
            tracing::debug!(schedule = %name, id, "schedule fired");
            ServerMessage {
                id,
                content: Some(server_message::Content::IntervalRequest(IntervalRequest {
                    schedule_name: name.clone(),
                })),
            }
        };
        let answered = match stream.send(request, &stop).await {
            Ok(sent) => tokio::time::timeout(timing.answer_timeout, sent.answer(&stop)).await,
            Err(why) => Ok(Err(why)),
        };
        match answered {
            Ok(Ok(())) => tracing::debug!(schedule = %name, "schedule answered"),
            Ok(Err(Unanswered::StreamEnded | Unanswered::ShuttingDown)) => return,
            Err(_) => tracing::warn!(
                schedule = %name,
                timeout = ?timing.answer_timeout,
                "the schedule's handler did not answer in time; it fires again at its next time"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_held_by_one_stream_at_a_time() {
        let book = Arc::new(ScheduleBook::default());
        let claim = book.claim("nightly").unwrap();
        assert!(book
            .claim("nightly")
            .unwrap_err()
            .contains("already registered"));
        assert!(book.claim("Nightly").is_ok());
        drop(claim);
        assert!(book.claim("nightly").is_ok());
    }
}
