//! What `#[schedule]` registers, built in const context, and the check
//! that each schedule name has one handler.

use crate::declaration::Source;
use crate::handler::{BoxFuture, HandlerResult};
use crate::schedule::ScheduleContext;
use std::collections::BTreeMap;
use std::time::Duration;

/// When a schedule fires, as the macro checked and wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Nitric's rate words, such as `"5 minutes"`.
    Every(&'static str),
    /// A 5-field cron expression, in UTC.
    Cron(&'static str),
}

/// One `#[schedule(...)]` function.
#[derive(Debug)]
pub struct ScheduleFunction {
    /// The schedule's name.
    pub name: &'static str,
    /// When it fires.
    pub cadence: Cadence,
    /// The adapter: drives the user's function with the firing's context.
    pub adapter: fn(ScheduleContext) -> BoxFuture<HandlerResult>,
    /// Where the function is.
    pub source: Source,
    /// How long one run may take (`timeout = "..."`); past it, the run is
    /// abandoned and logged.
    pub timeout: Option<Duration>,
}

impl ScheduleFunction {
    /// A schedule firing on a rate; `const` so `inventory::submit!` can hold it.
    pub const fn every(
        name: &'static str,
        rate: &'static str,
        adapter: fn(ScheduleContext) -> BoxFuture<HandlerResult>,
        source: Source,
    ) -> Self {
        Self {
            name,
            cadence: Cadence::Every(rate),
            adapter,
            source,
            timeout: None,
        }
    }

    /// A schedule firing on a cron expression.
    pub const fn cron(
        name: &'static str,
        expression: &'static str,
        adapter: fn(ScheduleContext) -> BoxFuture<HandlerResult>,
        source: Source,
    ) -> Self {
        Self {
            name,
            cadence: Cadence::Cron(expression),
            adapter,
            source,
            timeout: None,
        }
    }

    /// The registration with a time limit per run; `timeout = "..."` adds it.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The sources of the schedules sharing each name that more than one
/// function registers: the membrane runs one stream per schedule name.
pub(super) fn shared_names(
    schedules: &[&ScheduleFunction],
) -> impl Iterator<Item = (&'static str, Vec<Source>)> {
    let mut by_name: BTreeMap<&'static str, Vec<Source>> = BTreeMap::new();
    for schedule in schedules {
        by_name
            .entry(schedule.name)
            .or_default()
            .push(schedule.source);
    }
    by_name.into_iter().filter(|(_, sources)| sources.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing(_: ScheduleContext) -> BoxFuture<HandlerResult> {
        Box::pin(async { Ok(()) })
    }

    #[test]
    fn names_registered_twice_are_found_with_both_places() {
        let at = |line| Source::new("tick", "src/main.rs", line);
        let first = ScheduleFunction::every("tick", "1 minute", nothing, at(1));
        let second = ScheduleFunction::cron("tick", "* * * * *", nothing, at(9));
        let other = ScheduleFunction::every("tock", "1 minute", nothing, at(5));
        let shared: Vec<_> = shared_names(&[&first, &other, &second]).collect();
        assert_eq!(shared, [("tick", vec![at(1), at(9)])]);
    }
}
