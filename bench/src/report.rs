//! Figures, their targets, and the bare-stack ceilings of
//! `/work/shared/design/limits.md` they are compared against.

use std::time::Duration;

use hdrhistogram::Histogram;

/// A bare-stack ceiling measured without Omnibus (limits.md, medians).
#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    /// The row of limits.md, e.g. `E′ p99`.
    pub label: &'static str,
    pub value: f64,
}

/// axum → JetStream publish with `Nats-Msg-Id`, wrk -c64, latency p50 in
/// ms (its rate, E, is measured in each run: [`crate::ceiling`]).
pub const E_PRIME_P50: Ceiling = Ceiling {
    label: "E′ p50",
    value: 1.11,
};
/// The same, latency p99 in ms.
pub const E_PRIME_P99: Ceiling = Ceiling {
    label: "E′ p99",
    value: 6.72,
};
/// Pipelined JetStream publish, ≤256 acks outstanding: msgs/s.
pub const B_PUBLISH: Ceiling = Ceiling {
    label: "B",
    value: 176_792.0,
};
/// Durable pull consumer read, fetch 500: msgs/s.
pub const C_CONSUME: Ceiling = Ceiling {
    label: "C",
    value: 233_892.0,
};

/// What a figure is measured in; decides formatting and how it compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    PerSecond,
    Millis,
    MiB,
}

/// A goal from the issue: at least (throughput) or below (latency, memory).
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    Below(f64),
}

/// One line of the summary.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub target: Option<Target>,
    pub ceiling: Option<Ceiling>,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
            target: None,
            ceiling: None,
        }
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn ceiling(mut self, ceiling: Ceiling) -> Self {
        self.ceiling = Some(ceiling);
        self
    }

    fn verdict(&self) -> String {
        match self.target {
            None => String::new(),
            Some(Target::AtLeast(t)) => {
                let mark = if self.value >= t { "ok" } else { "MISS" };
                format!("≥ {} {mark}", format_value(t, self.unit))
            }
            Some(Target::Below(t)) => {
                let mark = if self.value < t { "ok" } else { "MISS" };
                format!("< {} {mark}", format_value(t, self.unit))
            }
        }
    }

    /// Throughput as a percentage of the ceiling; latency as a multiple of it.
    fn share(&self) -> String {
        let Some(c) = self.ceiling else {
            return String::new();
        };
        match self.unit {
            Unit::PerSecond => format!("{:.1}% of {}", 100.0 * self.value / c.value, c.label),
            _ => format!("{:.1}× {}", self.value / c.value, c.label),
        }
    }
}

/// `12,345/s`, `1.23 ms`, `45.6 MiB`.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::PerSecond => format!("{}/s", thousands(value.round() as u64)),
        Unit::Millis => format!("{value:.2} ms"),
        Unit::MiB => format!("{value:.1} MiB"),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A section title.
pub fn heading(title: &str) {
    println!("\n== {title} ==");
}

/// An aligned `label  value` line of a section.
pub fn line(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<40} {value}");
}

/// Prints the summary table of every figure.
pub fn summary(figures: &[Figure]) {
    heading("summary");
    let name_width = figures
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "  {:<name_width$}  {:>13}  {:<16}  share of the bare stack (E, C: this run; E′: limits.md)",
        "figure", "measured", "target"
    );
    for f in figures {
        println!(
            "  {:<name_width$}  {:>13}  {:<16}  {}",
            f.name,
            format_value(f.value, f.unit),
            f.verdict(),
            f.share()
        );
    }
}

/// A latency histogram in microseconds, up to one minute.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Records `elapsed`, saturating at the histogram's top.
pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    histogram.saturating_record(elapsed.as_micros().max(1) as u64);
}

/// A quantile of a microsecond histogram, in milliseconds.
pub fn quantile_ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

/// `p50 1.23 ms  p99 4.56 ms  p99.9 7.89 ms  max 12.34 ms`.
pub fn latencies(histogram: &Histogram<u64>) -> String {
    format!(
        "p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        quantile_ms(histogram, 0.5),
        quantile_ms(histogram, 0.99),
        quantile_ms(histogram, 0.999),
        histogram.max() as f64 / 1000.0
    )
}
