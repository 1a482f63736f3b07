//! Working hours: pure time-zone and holiday math over unix milliseconds.
//!
//! Intervals are wall-clock times of the schedule's IANA zone, so "09:00" is
//! nine in the morning on both sides of a DST change. A wall time that does
//! not exist (inside a spring-forward gap) or exists twice (a fall-back fold)
//! maps to an instant the way most calendars do: the later side of a gap, the
//! earlier of a fold ("compatible" disambiguation).

use std::collections::HashSet;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use omnibus_proto::Schedule;

/// How far ahead [`WorkingHours::next_open`] looks before deciding the team
/// never opens (a schedule of holidays only, or no intervals at all).
const LOOKAHEAD_DAYS: usize = 800;

/// Why a schedule cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// The zone is not in the time-zone database.
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    /// An interval's weekday or times are malformed.
    #[error("weekly interval {0} is malformed")]
    BadInterval(usize),
    /// A holiday is not a `YYYY-MM-DD` date.
    #[error("holiday {0:?} is not a date")]
    BadHoliday(String),
}

/// A parsed [`Schedule`], ready for "is the team working at this instant?".
#[derive(Debug, Clone)]
pub struct WorkingHours {
    zone: TimeZone,
    /// Per weekday (index 0 = Monday), `[open, close)` in minutes since local midnight.
    weekly: [Vec<(u32, u32)>; 7],
    holidays: HashSet<Date>,
}

impl WorkingHours {
    /// Parses a schedule; the API validated it, but old snapshots may predate
    /// a rule, so every field is checked again.
    pub fn parse(schedule: &Schedule) -> Result<Self, ScheduleError> {
        let zone = TimeZone::get(schedule.timezone.trim())
            .map_err(|_| ScheduleError::UnknownZone(schedule.timezone.clone()))?;
        let mut weekly: [Vec<(u32, u32)>; 7] = Default::default();
        for (i, interval) in schedule.weekly.iter().enumerate() {
            let open = minutes(&interval.open).ok_or(ScheduleError::BadInterval(i))?;
            let close = minutes(&interval.close).ok_or(ScheduleError::BadInterval(i))?;
            let day = usize::try_from(interval.weekday).unwrap_or(0);
            if !(1..=7).contains(&day) || open >= close {
                return Err(ScheduleError::BadInterval(i));
            }
            weekly[day - 1].push((open, close));
        }
        for day in &mut weekly {
            day.sort_unstable();
        }
        let holidays = schedule
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|_| ScheduleError::BadHoliday(d.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            zone,
            weekly,
            holidays,
        })
    }

    /// True when the team works at `at_ms`.
    pub fn is_open(&self, at_ms: i64) -> bool {
        let Some(local) = self.local(at_ms) else {
            return false;
        };
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute =
            u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        self.intervals(local.date())
            .iter()
            .any(|(open, close)| (*open..*close).contains(&minute))
    }

    /// The first opening at or after `at_ms`, or `None` when the team never
    /// opens again within the look-ahead.
    pub fn next_open(&self, at_ms: i64) -> Option<i64> {
        let mut date = self.local(at_ms)?.date();
        for _ in 0..LOOKAHEAD_DAYS {
            if !self.holidays.contains(&date) {
                for (open, _) in self.intervals(date) {
                    let Some(instant) = self.instant(date, *open) else {
                        continue;
                    };
                    if instant >= at_ms && self.is_open(instant) {
                        return Some(instant);
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Names the off-hours period `at_ms` falls in, `None` during working
    /// hours. Every instant of one period shares the key (the next opening,
    /// or `i64::MAX` when there is none), so "once per period" is "once per key".
    pub fn off_hours_period(&self, at_ms: i64) -> Option<i64> {
        if self.is_open(at_ms) {
            return None;
        }
        Some(self.next_open(at_ms).unwrap_or(i64::MAX))
    }

    fn local(&self, at_ms: i64) -> Option<Zoned> {
        let instant = Timestamp::from_millisecond(at_ms).ok()?;
        Some(instant.to_zoned(self.zone.clone()))
    }

    fn intervals(&self, date: Date) -> &[(u32, u32)] {
        let day = usize::try_from(date.weekday().to_monday_one_offset()).unwrap_or(1);
        &self.weekly[day.clamp(1, 7) - 1]
    }

    /// The instant of a local wall time, "compatible" for gaps and folds.
    fn instant(&self, date: Date, minute: u32) -> Option<i64> {
        if minute >= 24 * 60 {
            return None;
        }
        let hour = i8::try_from(minute / 60).ok()?;
        let minute = i8::try_from(minute % 60).ok()?;
        let wall = date.to_datetime(Time::new(hour, minute, 0, 0).ok()?);
        let zoned = self.zone.to_ambiguous_zoned(wall).compatible().ok()?;
        Some(zoned.timestamp().as_millisecond())
    }
}

/// True when `name` is a zone of the time-zone database.
pub fn is_known_zone(name: &str) -> bool {
    TimeZone::get(name.trim()).is_ok()
}

/// Minutes since midnight of "HH:MM"; "24:00" is the end of the day.
fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests;
