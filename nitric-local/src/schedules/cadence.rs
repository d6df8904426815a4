//! When a schedule fires: every so often (Nitric's rate words, "5 minutes"),
//! or on the minutes a cron expression matches.

use std::time::{Duration, SystemTime};

use nitric_protocol::schedules::v1::registration_request::Cadence as WireCadence;

use super::cron::CronExpression;
use super::ScheduleTiming;

/// A registered schedule's cadence, read from its registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cadence {
    /// A fixed period, already scaled by [`ScheduleTiming::minute`].
    Every(Duration),
    /// The minutes a cron expression matches, in UTC.
    Cron(CronExpression),
}

impl Cadence {
    /// Reads the registration's cadence, or says what is wrong with it.
    pub(crate) fn read(
        wire: Option<&WireCadence>,
        timing: &ScheduleTiming,
    ) -> Result<Self, String> {
        match wire {
            Some(WireCadence::Every(every)) => {
                let minutes = rate_minutes(&every.rate)?;
                Ok(Self::Every(timing.minute.saturating_mul(minutes)))
            }
            Some(WireCadence::Cron(cron)) => CronExpression::parse(&cron.expression).map(Self::Cron),
            None => Err("registration_request has no cadence: set `every` (a rate such as \"5 minutes\") or `cron` (an expression such as \"0 * * * *\")".to_owned()),
        }
    }

    /// How long from `now` until the next firing; `None` for a cron
    /// expression that never matches.
    pub(crate) fn wait_from(&self, now: SystemTime) -> Option<Duration> {
        match self {
            Self::Every(period) => Some(*period),
            Self::Cron(expression) => expression
                .next_after(now)
                .map(|next| next.duration_since(now).unwrap_or_default()),
        }
    }
}

/// The minutes of a Nitric rate, "<count> <unit>": the unit is minute(s),
/// hour(s) or day(s), any case; a bare unit ("day") means one. The count is
/// at least 1: the clouds' schedulers fire at most once a minute.
fn rate_minutes(rate: &str) -> Result<u32, String> {
    let words: Vec<&str> = rate.split_whitespace().collect();
    let (count, unit) = match words[..] {
        [unit] => ("1", unit),
        [count, unit] => (count, unit),
        _ => return Err(refusal(rate, "write a count and a unit")),
    };
    let count: u32 = count
        .parse()
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| refusal(rate, "the count must be a whole number of at least 1"))?;
    let per_unit = match unit.to_ascii_lowercase().trim_end_matches('s') {
        "minute" => 1,
        "hour" => 60,
        "day" => 24 * 60,
        _ => return Err(refusal(rate, "the unit must be minutes, hours or days")),
    };
    count
        .checked_mul(per_unit)
        .ok_or_else(|| refusal(rate, "it is too long"))
}

fn refusal(rate: &str, reason: &str) -> String {
    format!("every.rate {rate:?} is not a rate: {reason}, as in \"5 minutes\", \"1 hour\" or \"2 days\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::schedules::v1::{ScheduleCron, ScheduleEvery};

    fn every(rate: &str) -> Result<Cadence, String> {
        let wire = WireCadence::Every(ScheduleEvery { rate: rate.into() });
        Cadence::read(Some(&wire), &ScheduleTiming::default())
    }

    #[test]
    fn reads_nitric_rates() {
        let minutes = |n: u64| Ok(Cadence::Every(Duration::from_secs(60 * n)));
        assert_eq!(every("5 minutes"), minutes(5));
        assert_eq!(every("1 minute"), minutes(1));
        assert_eq!(every("2 Hours"), minutes(120));
        assert_eq!(every("1 days"), minutes(1440));
        assert_eq!(every("day"), minutes(1440));
    }

    #[test]
    fn refuses_what_the_clouds_cannot_run() {
        for bad in [
            "",
            "0 minutes",
            "30 seconds",
            "five minutes",
            "1 week",
            "1 2 minutes",
        ] {
            assert!(every(bad).unwrap_err().contains("is not a rate"), "{bad}");
        }
        let missing = Cadence::read(None, &ScheduleTiming::default()).unwrap_err();
        assert!(missing.contains("no cadence"));
    }

    #[test]
    fn the_timing_scales_a_minute() {
        let timing = ScheduleTiming {
            minute: Duration::from_millis(10),
            ..ScheduleTiming::default()
        };
        let wire = WireCadence::Every(ScheduleEvery {
            rate: "3 minutes".into(),
        });
        assert_eq!(
            Cadence::read(Some(&wire), &timing),
            Ok(Cadence::Every(Duration::from_millis(30)))
        );
    }

    #[test]
    fn a_cron_cadence_waits_for_its_next_minute() {
        let wire = WireCadence::Cron(ScheduleCron {
            expression: "0 * * * *".into(),
        });
        let cadence = Cadence::read(Some(&wire), &ScheduleTiming::default()).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(3600 + 59 * 60 + 30);
        assert_eq!(cadence.wait_from(now), Some(Duration::from_secs(30)));
    }
}
