//! Five-field cron expressions (minute, hour, day of month, month, day of
//! week), read in UTC as the clouds' schedulers read them, and the next
//! minute one matches.
//!
//! Each field is `*` (or `?`), a number, a range `a-b`, a step `*/n` or
//! `a-b/n` or `a/n`, or a comma-separated list of those. Months and days of
//! the week may be written by their first three letters (`JAN`, `MON`), any
//! case; Sunday is 0 or 7. As in Vixie cron, when both the day of the
//! month and the day of the week are restricted, a day matching either
//! one matches.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed expression: for each field, the values it matches as a bit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CronExpression {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Whether the day of the month and the day of the week were written
    /// as something other than `*`.
    day_restricted: (bool, bool),
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
// 7 is Sunday too; it is folded onto 0 after parsing.
const DAY_OF_WEEK: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

impl CronExpression {
    /// Reads `text`, or says which field is wrong and why.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "cron expression {text:?} has {} fields; write five: minute hour day-of-month month day-of-week, as in \"0 * * * *\"",
                fields.len()
            ));
        };
        let mut days_of_week = DAY_OF_WEEK.parse(weekday)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(Self {
            minutes: MINUTE.parse(minute)?,
            hours: HOUR.parse(hour)?,
            days_of_month: DAY_OF_MONTH.parse(day)?,
            months: MONTH.parse(month)?,
            days_of_week,
            day_restricted: (!is_any(day), !is_any(weekday)),
        })
    }

    /// The first whole minute strictly after `after` that matches, within
    /// the next eight years (an expression such as "0 0 31 2 *" never does).
    pub(crate) fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let seconds = after.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let mut minute = seconds / 60 + 1;
        let last = minute + 8 * 366 * 24 * 60;
        while minute < last {
            let (days, in_day) = (minute / (24 * 60), minute % (24 * 60));
            let (_, month, day) = civil_from_days(days);
            let weekday = (days + 4) % 7; // 1970-01-01 was a Thursday
            if !self.day_matches(month, day, weekday) {
                minute = (days + 1) * 24 * 60;
                continue;
            }
            let (hour, minute_of_hour) = (in_day / 60, in_day % 60);
            if !has(self.hours, hour as u32) {
                minute = days * 24 * 60 + (hour + 1) * 60;
                continue;
            }
            if has(self.minutes, minute_of_hour as u32) {
                return Some(UNIX_EPOCH + Duration::from_secs(minute * 60));
            }
            minute += 1;
        }
        None
    }

    fn day_matches(&self, month: u32, day: u32, weekday: u64) -> bool {
        if !has(self.months, month) {
            return false;
        }
        let by_date = has(self.days_of_month, day);
        let by_weekday = has(self.days_of_week, weekday as u32);
        match self.day_restricted {
            (true, true) => by_date || by_weekday,
            _ => by_date && by_weekday,
        }
    }
}

fn is_any(field: &str) -> bool {
    field == "*" || field == "?"
}

fn has(bits: u64, value: u32) -> bool {
    bits & (1 << value) != 0
}

impl Field {
    fn parse(&self, text: &str) -> Result<u64, String> {
        let mut bits = 0;
        for part in text.split(',') {
            bits |= self
                .part(part)
                .map_err(|reason| format!("cron {} field {text:?}: {reason}", self.name))?;
        }
        Ok(bits)
    }

    fn part(&self, part: &str) -> Result<u64, String> {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| format!("the step {step:?} is not a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (first, last) = if is_any(range) {
            (self.min, self.max)
        } else if let Some((first, last)) = range.split_once('-') {
            (self.value(first)?, self.value(last)?)
        } else {
            let first = self.value(range)?;
            // `a/n` runs from a to the end; a lone value is just itself.
            (first, if step > 1 { self.max } else { first })
        };
        if first > last {
            return Err(format!("the range {first}-{last} runs backwards"));
        }
        Ok((first..=last)
            .step_by(step as usize)
            .fold(0, |bits, value| bits | 1 << value))
    }

    fn value(&self, text: &str) -> Result<u32, String> {
        let upper = text.to_ascii_uppercase();
        if let Some(index) = self.names.iter().position(|name| *name == upper) {
            // Months count from 1, days of the week from 0 (Sunday).
            return Ok(index as u32 + u32::from(self.min == 1));
        }
        match text.parse::<u32>() {
            Ok(value) if (self.min..=self.max).contains(&value) => Ok(value),
            Ok(value) => Err(format!("{value} is outside {}-{}", self.min, self.max)),
            Err(_) => Err(format!("{text:?} is not a number")),
        }
    }
}

/// The (year, month, day) of a count of days since 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    fn at(text: &str) -> SystemTime {
        // "YYYY-MM-DD HH:MM"
        let number = |range: std::ops::Range<usize>| text[range].parse::<u64>().unwrap();
        let (year, month, day) = (number(0..4), number(5..7) as u32, number(8..10) as u32);
        let days = (0..)
            .find(|days| civil_from_days(*days) == (year, month, day))
            .unwrap();
        let seconds = days * 86_400 + number(11..13) * 3600 + number(14..16) * 60;
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn next(expression: &str, after: &str) -> SystemTime {
        CronExpression::parse(expression)
            .unwrap()
            .next_after(at(after))
            .unwrap()
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn finds_the_next_matching_minute() {
        assert_eq!(
            next("* * * * *", "2024-05-01 10:15"),
            at("2024-05-01 10:16")
        );
        assert_eq!(
            next("0 * * * *", "2024-05-01 10:15"),
            at("2024-05-01 11:00")
        );
        assert_eq!(
            next("*/20 * * * *", "2024-05-01 10:15"),
            at("2024-05-01 10:20")
        );
        assert_eq!(
            next("30 2 * * *", "2024-05-01 10:15"),
            at("2024-05-02 02:30")
        );
        assert_eq!(
            next("0 0 1 JAN *", "2024-05-01 10:15"),
            at("2025-01-01 00:00")
        );
        assert_eq!(
            next("0 0 29 2 *", "2024-03-01 00:00"),
            at("2028-02-29 00:00")
        );
        // 2024-05-01 was a Wednesday; the next Monday is the 6th.
        assert_eq!(
            next("0 9 * * MON", "2024-05-01 10:15"),
            at("2024-05-06 09:00")
        );
        assert_eq!(
            next("0 9 * * 1-5/2", "2024-05-01 10:15"),
            at("2024-05-03 09:00")
        );
        assert_eq!(
            next("0 0 * * 7", "2024-05-01 10:15"),
            at("2024-05-05 00:00")
        );
        // Day of month or day of week, when both are given: the 10th, or a Sunday.
        assert_eq!(
            next("0 0 10 * 0", "2024-05-01 10:15"),
            at("2024-05-05 00:00")
        );
        assert_eq!(
            next("15,45 8-9 ? * *", "2024-05-01 09:50"),
            at("2024-05-02 08:15")
        );
    }

    #[test]
    fn an_impossible_date_never_matches() {
        let expression = CronExpression::parse("0 0 31 2 *").unwrap();
        assert_eq!(expression.next_after(at("2024-01-01 00:00")), None);
    }

    #[test]
    fn refuses_mistakes_naming_the_field() {
        let refused = |text: &str| CronExpression::parse(text).unwrap_err();
        assert!(refused("* * * *").contains("has 4 fields"));
        assert!(refused("60 * * * *").contains("minute field \"60\": 60 is outside 0-59"));
        assert!(refused("* 5-2 * * *").contains("runs backwards"));
        assert!(refused("*/0 * * * *").contains("not a positive number"));
        assert!(refused("* * * FOO *").contains("\"FOO\" is not a number"));
        assert!(refused("* * 0 * *").contains("day of month"));
    }
}
