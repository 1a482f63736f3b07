//! Schedule math across DST changes and holidays, driven by an injected clock.

use jiff::civil::date;
use jiff::tz::TimeZone;
use omnibus_core::Clock;
use omnibus_proto::{Schedule, WeeklyInterval};

use super::*;

/// A clock stopped at one instant, standing in for the wall clock.
struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// Unix ms of a UTC wall time.
fn utc(y: i16, m: i8, d: i8, h: i8, mi: i8) -> i64 {
    date(y, m, d)
        .at(h, mi, 0, 0)
        .to_zoned(TimeZone::UTC)
        .expect("valid UTC time")
        .timestamp()
        .as_millisecond()
}

fn interval(weekday: u32, open: &str, close: &str) -> WeeklyInterval {
    WeeklyInterval {
        weekday,
        open: open.into(),
        close: close.into(),
    }
}

fn berlin(weekly: Vec<WeeklyInterval>, holidays: &[&str]) -> WorkingHours {
    WorkingHours::parse(&Schedule {
        timezone: "Europe/Berlin".into(),
        weekly,
        holidays: holidays.iter().map(|d| (*d).to_owned()).collect(),
    })
    .expect("valid schedule")
}

fn office_days() -> Vec<WeeklyInterval> {
    (1..=5).map(|d| interval(d, "09:00", "18:00")).collect()
}

#[test]
fn opening_follows_the_local_offset_on_both_sides_of_spring_forward() {
    let hours = berlin(office_days(), &[]);
    // Friday 2026-03-27 is CET (UTC+1): 09:00 local is 08:00Z.
    assert!(!hours.is_open(utc(2026, 3, 27, 7, 59)));
    assert!(hours.is_open(utc(2026, 3, 27, 8, 0)));
    assert!(hours.is_open(utc(2026, 3, 27, 16, 59)));
    assert!(!hours.is_open(utc(2026, 3, 27, 17, 0)));
    // Monday 2026-03-30 is CEST (UTC+2): 09:00 local is 07:00Z.
    assert!(!hours.is_open(utc(2026, 3, 30, 6, 59)));
    assert!(hours.is_open(utc(2026, 3, 30, 7, 0)));
    assert!(!hours.is_open(utc(2026, 3, 30, 16, 0)));
    // The weekend in between, with the clock change on Sunday, is closed.
    let saturday_noon = FixedClock(utc(2026, 3, 28, 12, 0));
    assert!(!hours.is_open(saturday_noon.now_ms()));
    assert_eq!(
        hours.next_open(saturday_noon.now_ms()),
        Some(utc(2026, 3, 30, 7, 0)),
        "Monday 09:00 CEST, an hour earlier in UTC than the Friday before"
    );
}

#[test]
fn wall_times_in_the_spring_forward_gap_count_from_the_new_offset() {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
    let hours = berlin(vec![interval(7, "02:30", "04:00")], &[]);
    assert!(!hours.is_open(utc(2026, 3, 29, 0, 59)), "01:59 CET");
    assert!(hours.is_open(utc(2026, 3, 29, 1, 0)), "03:00 CEST");
    assert!(hours.is_open(utc(2026, 3, 29, 1, 59)), "03:59 CEST");
    assert!(!hours.is_open(utc(2026, 3, 29, 2, 0)), "04:00 CEST");
    let next = hours.next_open(utc(2026, 3, 29, 0, 0)).expect("opens");
    assert!(
        hours.is_open(next),
        "the reported opening is inside the interval"
    );
}

#[test]
fn the_fall_back_fold_is_open_twice_and_opens_at_the_earlier_instant() {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:xx happens twice.
    let hours = berlin(vec![interval(7, "02:00", "03:00")], &[]);
    assert!(hours.is_open(utc(2026, 10, 25, 0, 30)), "02:30 CEST");
    assert!(hours.is_open(utc(2026, 10, 25, 1, 30)), "02:30 CET");
    assert!(!hours.is_open(utc(2026, 10, 25, 2, 0)), "03:00 CET");
    assert_eq!(
        hours.next_open(utc(2026, 10, 24, 12, 0)),
        Some(utc(2026, 10, 25, 0, 0)),
        "02:00 CEST, the earlier of the two"
    );
}

#[test]
fn autumn_office_hours_shift_by_an_hour_in_utc() {
    let hours = berlin(office_days(), &[]);
    // Friday 2026-10-23 is CEST, Monday 2026-10-26 is CET.
    assert!(hours.is_open(utc(2026, 10, 23, 7, 0)));
    assert!(!hours.is_open(utc(2026, 10, 26, 7, 0)), "08:00 CET");
    assert!(hours.is_open(utc(2026, 10, 26, 8, 0)), "09:00 CET");
    assert_eq!(
        hours.next_open(utc(2026, 10, 24, 9, 0)),
        Some(utc(2026, 10, 26, 8, 0))
    );
}

#[test]
fn holidays_are_closed_and_skipped_when_looking_for_the_next_opening() {
    let hours = berlin(office_days(), &["2026-12-31", "2027-01-01"]);
    // Thursday 2026-12-31, 10:00 CET.
    assert!(!hours.is_open(utc(2026, 12, 31, 9, 0)));
    assert!(
        hours.is_open(utc(2026, 12, 30, 9, 0)),
        "the day before works"
    );
    assert_eq!(
        hours.next_open(utc(2026, 12, 31, 9, 0)),
        Some(utc(2027, 1, 4, 8, 0)),
        "Monday 2027-01-04 09:00 CET, after two holidays and a weekend"
    );
}

#[test]
fn one_off_hours_period_shares_one_key_and_the_next_night_differs() {
    let hours = berlin(office_days(), &[]);
    let evening = hours.off_hours_period(utc(2026, 11, 24, 18, 0));
    let night = hours.off_hours_period(utc(2026, 11, 25, 2, 0));
    let next_evening = hours.off_hours_period(utc(2026, 11, 25, 19, 0));
    assert!(evening.is_some());
    assert_eq!(evening, night);
    assert_ne!(evening, next_evening);
    assert_eq!(hours.off_hours_period(utc(2026, 11, 25, 10, 0)), None);
}

#[test]
fn a_schedule_without_intervals_is_one_endless_off_hours_period() {
    let hours = berlin(Vec::new(), &[]);
    let now = FixedClock(utc(2026, 11, 25, 10, 0));
    assert!(!hours.is_open(now.now_ms()));
    assert_eq!(hours.next_open(now.now_ms()), None);
    assert_eq!(hours.off_hours_period(now.now_ms()), Some(i64::MAX));
}

#[test]
fn whole_days_and_other_zones() {
    let hours = WorkingHours::parse(&Schedule {
        timezone: "Asia/Tokyo".into(),
        weekly: vec![interval(3, "00:00", "24:00")],
        holidays: Vec::new(),
    })
    .unwrap();
    // Wednesday 2026-11-25 in Tokyo runs from 2026-11-24 15:00Z.
    assert!(!hours.is_open(utc(2026, 11, 24, 14, 59)));
    assert!(hours.is_open(utc(2026, 11, 24, 15, 0)));
    assert!(hours.is_open(utc(2026, 11, 25, 14, 59)));
    assert!(!hours.is_open(utc(2026, 11, 25, 15, 0)));
}

#[test]
fn malformed_schedules_are_refused() {
    let parse = |timezone: &str, weekly: Vec<WeeklyInterval>, holidays: Vec<String>| {
        WorkingHours::parse(&Schedule {
            timezone: timezone.into(),
            weekly,
            holidays,
        })
    };
    assert_eq!(
        parse("Mars/Olympus", Vec::new(), Vec::new()).unwrap_err(),
        ScheduleError::UnknownZone("Mars/Olympus".into())
    );
    assert!(parse("UTC", vec![interval(8, "09:00", "10:00")], Vec::new()).is_err());
    assert!(parse("UTC", vec![interval(1, "10:00", "09:00")], Vec::new()).is_err());
    assert!(parse("UTC", Vec::new(), vec!["31.12.2026".into()]).is_err());
    assert!(is_known_zone("Europe/Moscow"));
    assert!(!is_known_zone("Europe/Atlantis"));
}
