//! The table printed at the end: every figure of ours beside its peer's,
//! the ratio ours/peer, and the target where it sets one.

use std::fmt::Write;

/// A measured figure, or why there is none.
pub type Figure = Result<f64, String>;

/// How a figure is written.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// Messages per second.
    PerSecond,
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// Mebibytes.
    Mib,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::PerSecond => format!("{} msg/s", thousands(value)),
            Unit::Micros if value >= 1_000.0 => format!("{:.1} ms", value / 1e3),
            Unit::Micros if value >= 100.0 => format!("{value:.0} µs"),
            Unit::Micros => format!("{value:.1} µs"),
            Unit::Millis if value >= 100.0 => format!("{value:.0} ms"),
            Unit::Millis => format!("{value:.1} ms"),
            Unit::Mib => format!("{value:.1} MiB"),
        }
    }
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A target from the issue: its wording and whether a row meets it, given
/// our figure and the ratio ours/peer.
#[derive(Clone, Copy)]
pub struct Target {
    /// As printed, for example "≤ 0.05 (≥20x lower)".
    pub text: &'static str,
    /// Whether `(ours, ours / peer)` meets it.
    pub met: fn(f64, f64) -> bool,
}

/// One line of the table.
pub struct Row {
    /// What is measured.
    pub measure: String,
    /// The unit of both figures.
    pub unit: Unit,
    /// Our figure.
    pub ours: Figure,
    /// Who the peer is: `ceiling`, `Node`, `Python`.
    pub peer: String,
    /// The peer's figure; `Err` for none (with why, or "—" for no peer).
    pub theirs: Figure,
    /// The target for this comparison, if any.
    pub target: Option<Target>,
}

/// The rows so far, and notes printed under the table.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    /// Adds a row.
    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds a note under the table (a failure's reason, a caveat).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table in markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| measure | ours (Rust) | peer | peer's | ours/peer | target | met |\n\
             |---|---:|---|---:|---:|---|---|\n",
        );
        for row in &self.rows {
            let cell = |figure: &Figure| match figure {
                Ok(value) => row.unit.format(*value),
                Err(why) => why.clone(),
            };
            let ratio = match (&row.ours, &row.theirs) {
                (Ok(ours), Ok(theirs)) if *theirs > 0.0 => Some(ours / theirs),
                _ => None,
            };
            let (target, met) = match (row.target, &row.ours) {
                (Some(target), Ok(ours)) => {
                    let met = match ratio {
                        Some(ratio) => (target.met)(*ours, ratio),
                        // A target on our figure alone can still be judged.
                        None => (target.met)(*ours, f64::NAN),
                    };
                    (target.text, if met { "yes" } else { "no" })
                }
                (Some(target), Err(_)) => (target.text, "?"),
                (None, _) => ("", ""),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {target} | {met} |",
                row.measure,
                cell(&row.ours),
                row.peer,
                cell(&row.theirs),
                ratio.map_or("—".to_owned(), format_ratio),
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

fn format_ratio(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.3}")
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "a median of nothing");
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// The `quantile` (0 to 1) of `sorted`, nearest rank.
pub fn quantile(sorted: &[u32], quantile: f64) -> f64 {
    assert!(!sorted.is_empty(), "a quantile of nothing");
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}
