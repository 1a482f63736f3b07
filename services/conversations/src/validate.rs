//! Request validation with messages a person can act on.

use std::collections::HashMap;

use omnibus_proto::{ChannelKind, ChannelSettings, Schedule};

use crate::error::{Result, ServiceError};

/// Longest closing message, in characters.
pub const MAX_CLOSING_MESSAGE: usize = 250;
/// Longest outbound text, in characters (Telegram's and WhatsApp's limit).
pub const MAX_TEXT: usize = 4096;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 256;

/// (required, optional) credential keys of each messenger, as in the contract.
fn credential_keys(kind: ChannelKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        ChannelKind::Telegram => (&["bot_token"], &["secret_token"]),
        ChannelKind::Whatsapp => (
            &[
                "access_token",
                "app_secret",
                "verify_token",
                "phone_number_id",
            ],
            &["business_account_id"],
        ),
        ChannelKind::Viber => (&["auth_token"], &[]),
        ChannelKind::Vk => (
            &["access_token", "secret", "confirmation_code"],
            &["group_id"],
        ),
        ChannelKind::Instagram => (
            &["access_token", "app_secret", "verify_token"],
            &["account_id"],
        ),
        ChannelKind::Wazzup => (&["api_key", "channel_id"], &["webhook_token"]),
        ChannelKind::Unspecified => (&[], &[]),
    }
}

/// The channel kind of a request.
pub fn kind(raw: i32) -> Result<ChannelKind> {
    match ChannelKind::try_from(raw) {
        Ok(ChannelKind::Unspecified) | Err(_) => Err(ServiceError::invalid(
            "kind is required: one of TELEGRAM, WHATSAPP, VIBER, VK, INSTAGRAM, WAZZUP",
        )),
        Ok(kind) => Ok(kind),
    }
}

/// Every required key is present and non-empty, and no unknown key is given.
pub fn credentials(kind: ChannelKind, credentials: &HashMap<String, String>) -> Result<()> {
    let (required, optional) = credential_keys(kind);
    let messenger = omnibus_core::kind::messenger(kind);
    for key in credentials.keys() {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            let mut allowed: Vec<&str> = required.iter().chain(optional).copied().collect();
            allowed.sort_unstable();
            return Err(ServiceError::invalid(format!(
                "unknown credential {key:?} for a {messenger} channel; allowed: {}",
                allowed.join(", ")
            )));
        }
    }
    let missing: Vec<&str> = required
        .iter()
        .filter(|key| credentials.get(**key).is_none_or(|v| v.trim().is_empty()))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::invalid(format!(
            "a {messenger} channel needs the credential(s): {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// An update that moves a channel to another `api_base_url` carries every
/// credential the messenger needs: stored credentials are never sent to an
/// address the caller just chose (the bot token would be in the path of a
/// `getMe` at a listener of theirs).
pub fn credentials_for_new_address(
    kind: ChannelKind,
    given: &HashMap<String, String>,
) -> Result<()> {
    let (required, _) = credential_keys(kind);
    let missing: Vec<&str> = required
        .iter()
        .filter(|key| given.get(**key).is_none_or(|v| v.trim().is_empty()))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ServiceError::invalid(format!(
        "changing api_base_url needs all of the {} channel's credentials again \
         (missing: {}); stored credentials are never sent to a new address",
        omnibus_core::kind::messenger(kind),
        missing.join(", ")
    )))
}

/// A channel name fits in a list.
pub fn name(name: &str) -> Result<()> {
    if name.chars().count() > 200 {
        return Err(ServiceError::invalid("name is longer than 200 characters"));
    }
    Ok(())
}

/// An API base URL override is an absolute http(s) URL.
pub fn api_base_url(url: &str) -> Result<()> {
    if url.is_empty() || url.starts_with("http://") || url.starts_with("https://") {
        return Ok(());
    }
    Err(ServiceError::invalid(format!(
        "api_base_url {url:?} must start with http:// or https://"
    )))
}

/// Channel settings are within their bounds.
pub fn settings(settings: &ChannelSettings) -> Result<()> {
    if settings.inactivity_close_seconds == Some(0) {
        return Err(ServiceError::invalid(
            "inactivity_close_seconds must be greater than 0 (leave it unset for the default of 600)",
        ));
    }
    let closing = settings.closing_message.chars().count();
    if closing > MAX_CLOSING_MESSAGE {
        return Err(ServiceError::invalid(format!(
            "closing_message has {closing} characters; at most {MAX_CLOSING_MESSAGE} are allowed"
        )));
    }
    for (i, reply) in settings.auto_replies.iter().enumerate() {
        if reply.text.trim().is_empty() {
            return Err(ServiceError::invalid(format!(
                "auto_replies[{i}].text is empty"
            )));
        }
        if reply.text.chars().count() > MAX_TEXT {
            return Err(ServiceError::invalid(format!(
                "auto_replies[{i}].text is longer than {MAX_TEXT} characters"
            )));
        }
    }
    if settings.off_hours_message.chars().count() > MAX_TEXT {
        return Err(ServiceError::invalid(format!(
            "off_hours_message is longer than {MAX_TEXT} characters"
        )));
    }
    if let Some(schedule) = &settings.schedule {
        self::schedule(schedule)?;
    }
    Ok(())
}

fn schedule(schedule: &Schedule) -> Result<()> {
    if schedule.timezone.trim().is_empty() {
        return Err(ServiceError::invalid(
            "schedule.timezone is required, as an IANA name such as \"Europe/Moscow\"",
        ));
    }
    if jiff::tz::TimeZone::get(schedule.timezone.trim()).is_err() {
        return Err(ServiceError::invalid(format!(
            "schedule.timezone {:?} is not a known IANA time zone; use a name such as \"Europe/Moscow\"",
            schedule.timezone
        )));
    }
    for (i, interval) in schedule.weekly.iter().enumerate() {
        if !(1..=7).contains(&interval.weekday) {
            return Err(ServiceError::invalid(format!(
                "schedule.weekly[{i}].weekday must be 1 (Monday) to 7 (Sunday)"
            )));
        }
        let (Some(open), Some(close)) = (minutes(&interval.open), minutes(&interval.close)) else {
            return Err(ServiceError::invalid(format!(
                "schedule.weekly[{i}] needs open and close as \"HH:MM\" (00:00 to 24:00)"
            )));
        };
        if open >= close {
            return Err(ServiceError::invalid(format!(
                "schedule.weekly[{i}] opens at {} but closes at {}; open must be before close",
                interval.open, interval.close
            )));
        }
    }
    for (i, day) in schedule.holidays.iter().enumerate() {
        if !is_date(day) {
            return Err(ServiceError::invalid(format!(
                "schedule.holidays[{i}] {day:?} is not a date as \"YYYY-MM-DD\""
            )));
        }
    }
    Ok(())
}

/// Minutes since midnight of "HH:MM"; 24:00 is the end of the day.
fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn is_date(day: &str) -> bool {
    let parts: Vec<&str> = day.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let ok = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !(ok(y, 4) && ok(m, 2) && ok(d, 2)) {
        return false;
    }
    let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_proto::{AutoReply, WeeklyInterval};

    fn creds(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn telegram_needs_a_bot_token_and_knows_its_keys() {
        assert!(credentials(ChannelKind::Telegram, &creds(&[("bot_token", "1:a")])).is_ok());
        let err = credentials(ChannelKind::Telegram, &creds(&[])).unwrap_err();
        assert!(err.to_string().contains("bot_token"), "{err}");
        let err = credentials(
            ChannelKind::Telegram,
            &creds(&[("bot_token", "1:a"), ("x", "y")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown credential \"x\""),
            "{err}"
        );
    }

    #[test]
    fn settings_bounds() {
        let mut s = ChannelSettings {
            inactivity_close_seconds: Some(0),
            ..Default::default()
        };
        assert!(
            settings(&s)
                .unwrap_err()
                .to_string()
                .contains("greater than 0")
        );
        s.inactivity_close_seconds = Some(86_400 * 3);
        assert!(settings(&s).is_ok());
        s.closing_message = "x".repeat(251);
        assert!(
            settings(&s)
                .unwrap_err()
                .to_string()
                .contains("251 characters")
        );
        s.closing_message = "ё".repeat(250);
        assert!(settings(&s).is_ok(), "250 characters, not bytes");
        s.auto_replies = vec![AutoReply {
            text: " ".into(),
            delay_seconds: 5,
        }];
        assert!(settings(&s).is_err());
    }

    #[test]
    fn schedules_are_checked() {
        let mut schedule = Schedule {
            timezone: "Europe/Moscow".into(),
            weekly: vec![WeeklyInterval {
                weekday: 1,
                open: "09:00".into(),
                close: "18:00".into(),
            }],
            holidays: vec!["2026-12-31".into()],
        };
        assert!(self::schedule(&schedule).is_ok());
        schedule.weekly[0].close = "08:00".into();
        assert!(self::schedule(&schedule).is_err());
        schedule.weekly[0].close = "24:00".into();
        assert!(self::schedule(&schedule).is_ok());
        schedule.weekly[0].weekday = 8;
        assert!(self::schedule(&schedule).is_err());
        schedule.weekly[0].weekday = 7;
        schedule.holidays = vec!["31.12.2026".into()];
        assert!(self::schedule(&schedule).is_err());
        schedule.holidays = Vec::new();
        assert!(self::schedule(&schedule).is_ok());
        schedule.timezone = "Mars/Olympus".into();
        let err = self::schedule(&schedule).unwrap_err().to_string();
        assert!(err.contains("\"Mars/Olympus\""), "{err}");
    }
}
