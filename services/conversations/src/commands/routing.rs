//! Checks a channel's routing (`ChannelSettings.routing`) before it is
//! stored: one target, a known operator group, a sane bot timeout.

use omnibus_proto::{ChannelSettings, Routing, event::Payload};

use super::Commands;
use crate::error::{Result, ServiceError};

/// Longest bot timeout: a day.
const MAX_BOT_TIMEOUT_SECONDS: u32 = 86_400;

impl Commands {
    /// INVALID_ARGUMENT, in words an admin can act on, unless the routing
    /// names exactly one target and every group it names exists.
    pub(super) async fn check_routing(&self, settings: &ChannelSettings) -> Result<()> {
        let Some(routing) = &settings.routing else {
            return Ok(());
        };
        shape(routing)?;
        for (field, group_id) in [
            ("group_id", &routing.group_id),
            ("fallback_group_id", &routing.fallback_group_id),
        ] {
            if !group_id.is_empty() {
                self.check_group(field, group_id).await?;
            }
        }
        Ok(())
    }

    async fn check_group(&self, field: &str, group_id: &str) -> Result<()> {
        let unknown = || {
            ServiceError::invalid(format!(
                "routing.{field} {group_id:?} is not a known operator group; create it first \
                 (OperatorService/UpsertGroup, `omnictl groups upsert`)"
            ))
        };
        if !omnibus_core::ids::is_valid_id(group_id) {
            return Err(unknown());
        }
        let subject = self.bus.subjects().group(group_id);
        match self.bus.last_event(&subject).await? {
            Some((_, event)) => match event.payload {
                Some(Payload::GroupChanged(changed)) if !changed.deleted => Ok(()),
                _ => Err(unknown()),
            },
            None => Err(unknown()),
        }
    }
}

/// One of operator, group or bot; at most one fallback, only with a bot.
fn shape(routing: &Routing) -> Result<()> {
    let targets = [&routing.operator_id, &routing.group_id, &routing.bot_id]
        .iter()
        .filter(|t| !t.trim().is_empty())
        .count();
    if targets != 1 {
        return Err(ServiceError::invalid(
            "routing needs exactly one of operator_id, group_id or bot_id",
        ));
    }
    let fallbacks = [&routing.fallback_operator_id, &routing.fallback_group_id]
        .iter()
        .filter(|t| !t.trim().is_empty())
        .count();
    if fallbacks > 1 {
        return Err(ServiceError::invalid(
            "routing takes at most one of fallback_operator_id or fallback_group_id",
        ));
    }
    if fallbacks == 1 && routing.bot_id.trim().is_empty() {
        return Err(ServiceError::invalid(
            "routing's fallback is for a bot: set bot_id, or drop the fallback",
        ));
    }
    match routing.bot_timeout_seconds {
        Some(0) => Err(ServiceError::invalid(
            "routing.bot_timeout_seconds must be greater than 0 (leave it unset for 60)",
        )),
        Some(s) if s > MAX_BOT_TIMEOUT_SECONDS => Err(ServiceError::invalid(format!(
            "routing.bot_timeout_seconds is at most {MAX_BOT_TIMEOUT_SECONDS}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_needs_one_target_and_a_fallback_only_for_bots() {
        let ok = Routing {
            bot_id: "bot".into(),
            fallback_group_id: "g".into(),
            ..Default::default()
        };
        assert!(shape(&ok).is_ok());
        assert!(shape(&Routing::default()).is_err());
        let two = Routing {
            operator_id: "a".into(),
            group_id: "g".into(),
            ..Default::default()
        };
        assert!(shape(&two).is_err());
        let fallback_without_bot = Routing {
            operator_id: "a".into(),
            fallback_operator_id: "b".into(),
            ..Default::default()
        };
        assert!(shape(&fallback_without_bot).is_err());
        let zero = Routing {
            bot_id: "bot".into(),
            bot_timeout_seconds: Some(0),
            ..Default::default()
        };
        assert!(shape(&zero).is_err());
    }
}
