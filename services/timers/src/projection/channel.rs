//! Channel snapshots: the settings timers are armed with.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use omnibus_proto::{ChannelChanged, ChannelKind, ChannelSettings, ChannelStatus};
use prost::Message as _;
use sqlx::AnyConnection;

use super::Step;
use crate::deadlines::Op;
use crate::schedule::WorkingHours;
use crate::sql;
use crate::timer::TimerKind;

/// Inactivity before a close when the channel does not say (the contract's default).
pub const DEFAULT_INACTIVITY_SECONDS: u32 = 600;

/// What the timers need of a channel, with the schedule parsed once.
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    pub kind: ChannelKind,
    pub deleted: bool,
    pub settings: ChannelSettings,
    /// `None`: no schedule, always open.
    pub hours: Option<WorkingHours>,
}

impl ChannelInfo {
    fn new(kind: ChannelKind, deleted: bool, settings: ChannelSettings) -> Self {
        let hours = settings.schedule.as_ref().and_then(|schedule| {
            WorkingHours::parse(schedule)
                .inspect_err(|err| {
                    tracing::warn!(error = %err, "ignoring an unusable schedule; always open");
                })
                .ok()
        });
        Self {
            kind,
            deleted,
            settings,
            hours,
        }
    }

    /// Milliseconds of silence before the conversation closes.
    pub fn inactivity_ms(&self) -> i64 {
        let seconds = self
            .settings
            .inactivity_close_seconds
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_INACTIVITY_SECONDS);
        i64::from(seconds) * 1000
    }
}

/// Channels by id, read through from `timer_channels`. Cleared when a batch
/// fails, so it never holds a snapshot that was rolled back.
#[derive(Debug, Default)]
pub struct ChannelCache {
    channels: HashMap<String, Option<ChannelInfo>>,
}

impl ChannelCache {
    /// Forgets everything (after a rolled-back batch).
    pub fn clear(&mut self) {
        self.channels.clear();
    }

    /// The channel, `None` when no snapshot was seen.
    pub async fn get(
        &mut self,
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<Option<ChannelInfo>, sqlx::Error> {
        if let Some(cached) = self.channels.get(id) {
            return Ok(cached.clone());
        }
        let info = sql::channel(conn, id)
            .await?
            .map(|(kind, deleted, settings)| {
                let kind = i32::try_from(kind)
                    .ok()
                    .and_then(|k| ChannelKind::try_from(k).ok())
                    .unwrap_or(ChannelKind::Unspecified);
                ChannelInfo::new(kind, deleted, decode(&settings))
            });
        self.channels.insert(id.to_owned(), info.clone());
        Ok(info)
    }

    /// Applies a snapshot.
    pub async fn changed(
        &mut self,
        conn: &mut AnyConnection,
        changed: &ChannelChanged,
    ) -> Result<(), sqlx::Error> {
        let Some(state) = &changed.state else {
            return Ok(());
        };
        let settings = state.settings.clone().unwrap_or_default();
        let kind = ChannelKind::try_from(state.kind).unwrap_or(ChannelKind::Unspecified);
        let deleted = state.status == ChannelStatus::Deleted as i32;
        let encoded = STANDARD.encode(settings.encode_to_vec());
        sql::save_channel(conn, &state.id, state.kind, deleted, &encoded).await?;
        let info = ChannelInfo::new(kind, deleted, settings);
        self.channels.insert(state.id.clone(), Some(info));
        Ok(())
    }
}

/// Applies a channel snapshot; when its inactivity changed, the close
/// timers of its open conversations move by the difference, so a lowered
/// inactivity closes them at the new time rather than at the old one.
pub(super) async fn changed(
    step: &mut Step<'_>,
    changed: &ChannelChanged,
) -> Result<(), sqlx::Error> {
    let Some(id) = changed.state.as_ref().map(|s| s.id.clone()) else {
        return Ok(());
    };
    let before = step.channel(&id).await?.map(|c| c.inactivity_ms());
    step.channels.changed(step.conn, changed).await?;
    let after = step
        .channel(&id)
        .await?
        .filter(|c| !c.deleted)
        .map(|c| c.inactivity_ms());
    let (Some(before), Some(after)) = (before, after) else {
        return Ok(());
    };
    if before == after {
        return Ok(());
    }
    let moved = sql::shift_channel_timers(step.conn, &id, TimerKind::Close, after - before).await?;
    step.ops.extend(moved.into_iter().map(Op::Arm));
    Ok(())
}

fn decode(settings: &str) -> ChannelSettings {
    STANDARD
        .decode(settings)
        .ok()
        .and_then(|bytes| ChannelSettings::decode(bytes.as_slice()).ok())
        .unwrap_or_default()
}
