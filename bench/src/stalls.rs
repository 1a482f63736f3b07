//! When an open-loop run's slow calls happened.
//!
//! A p99 at a fixed rate is mostly decided by a few stalls: one pause of
//! 70 ms at 500 calls/s delays 35 calls, which alone is 0.7 % of a 10 s
//! run. Whether the slow calls come in bursts, and how far apart, tells a
//! stall (a checkpoint, a lock, a pause of the host) from a slow path that
//! every call risks, so the bench prints the worst bursts with their times.

use std::fmt::Write as _;
use std::time::Duration;

/// Slow calls closer than this to each other belong to one burst.
const GAP: Duration = Duration::from_millis(50);

/// Most bursts listed.
const SHOWN: usize = 5;

/// One call of the run: when it was due (since the run's start) and how
/// long it took from then.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub due: Duration,
    pub took: Duration,
}

/// A run of slow calls close together.
#[derive(Debug, Clone, PartialEq)]
struct Burst {
    start: Duration,
    end: Duration,
    calls: usize,
    worst: Duration,
}

/// The bursts of calls slower than `slow`, worst first (at most
/// [`SHOWN`]), with how many there were in all: `3 bursts over 5.00 ms: at
/// 2.31 s 36 calls for 72 ms, worst 75.0 ms; …`, or `none over 5.00 ms`.
pub fn describe(calls: &[Call], slow: Duration) -> String {
    let mut bursts = bursts(calls, slow);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if bursts.is_empty() {
        return format!("none over {:.2} ms", ms(slow));
    }
    let total = bursts.len();
    bursts.sort_by_key(|b| std::cmp::Reverse(b.calls));
    let mut text = format!("{total} bursts over {:.2} ms:", ms(slow));
    for (i, b) in bursts.iter().take(SHOWN).enumerate() {
        let separator = if i == 0 { "" } else { ";" };
        let _ = write!(
            text,
            "{separator} at {:.2} s {} calls for {:.0} ms, worst {:.1} ms",
            b.start.as_secs_f64(),
            b.calls,
            ms(b.end.saturating_sub(b.start)),
            ms(b.worst)
        );
    }
    text
}

/// Calls slower than `slow`, grouped by when they were due.
fn bursts(calls: &[Call], slow: Duration) -> Vec<Burst> {
    let mut slow_calls: Vec<Call> = calls.iter().copied().filter(|c| c.took > slow).collect();
    slow_calls.sort_by_key(|c| c.due);
    let mut bursts: Vec<Burst> = Vec::new();
    for call in slow_calls {
        match bursts.last_mut() {
            Some(b) if call.due.saturating_sub(b.end) <= GAP => {
                b.end = call.due;
                b.calls += 1;
                b.worst = b.worst.max(call.took);
            }
            _ => bursts.push(Burst {
                start: call.due,
                end: call.due,
                calls: 1,
                worst: call.took,
            }),
        }
    }
    bursts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(due_ms: u64, took_ms: u64) -> Call {
        Call {
            due: Duration::from_millis(due_ms),
            took: Duration::from_millis(took_ms),
        }
    }

    #[test]
    fn slow_calls_close_together_make_one_burst_and_the_largest_comes_first() {
        let calls = [
            call(0, 1),
            call(100, 30),
            call(102, 28),
            call(140, 9),
            call(1_000, 12),
            call(1_500, 2),
        ];
        let slow = Duration::from_millis(5);
        assert_eq!(
            bursts(&calls, slow),
            [
                Burst {
                    start: Duration::from_millis(100),
                    end: Duration::from_millis(140),
                    calls: 3,
                    worst: Duration::from_millis(30),
                },
                Burst {
                    start: Duration::from_millis(1_000),
                    end: Duration::from_millis(1_000),
                    calls: 1,
                    worst: Duration::from_millis(12),
                },
            ]
        );
        assert_eq!(
            describe(&calls, slow),
            "2 bursts over 5.00 ms: at 0.10 s 3 calls for 40 ms, worst 30.0 ms; \
             at 1.00 s 1 calls for 0 ms, worst 12.0 ms"
        );
    }

    #[test]
    fn a_run_without_slow_calls_says_so() {
        assert_eq!(
            describe(&[call(0, 1)], Duration::from_millis(5)),
            "none over 5.00 ms"
        );
    }
}
