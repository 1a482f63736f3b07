//! Operator groups: the targets of channel routing. A group is a fact on
//! the stream (`GroupChanged` on `group.<id>`, the whole group each time),
//! so the router and a rebuilt projection see the same groups; this module
//! validates and stores them and keeps the `notif_groups` table for
//! `ListGroups`.

use omnibus_proto::{Event, Group, GroupChanged, GroupRule, UpsertGroupRequest, event::Payload};
use omnibus_store::Store;
use sqlx::AnyConnection;

use crate::commands::Commands;
use crate::{Result, ServiceError};

/// Most operators in one group.
const MAX_OPERATORS: usize = 500;
/// Longest group name, in characters.
const MAX_NAME: usize = 200;

/// Groups' write and read side.
#[derive(Clone)]
pub struct Groups {
    pub(crate) commands: Commands,
    pub(crate) store: Store,
}

impl Groups {
    /// Creates or replaces a group and returns it once it is listed.
    pub async fn upsert(&self, request: UpsertGroupRequest) -> Result<Group> {
        let group = validate(request)?;
        self.record(group.clone(), false).await?;
        Ok(group)
    }

    /// Deletes a group (NOT_FOUND when there is none).
    pub async fn delete(&self, id: &str) -> Result<()> {
        let group = self
            .list()
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| ServiceError::not_found("group", id))?;
        self.record(group, true).await
    }

    /// Every group, by id.
    pub async fn list(&self) -> Result<Vec<Group>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT id, name, operator_ids, rule FROM notif_groups ORDER BY id")
                .fetch_all(self.store.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, operators, rule)| Group {
                id,
                name,
                operator_ids: operators.lines().map(str::to_owned).collect(),
                rule: i32::try_from(rule).unwrap_or(0),
            })
            .collect())
    }

    async fn record(&self, group: Group, deleted: bool) -> Result<()> {
        let bus = self.commands.bus();
        let subject = bus.subjects().group(&group.id);
        let now = omnibus_core::now_ms();
        let event = Event {
            id: omnibus_core::ids::random_id("ev_"),
            occurred_at_ms: now,
            recorded_at_ms: now,
            channel_id: String::new(),
            conversation_id: String::new(),
            payload: Some(Payload::GroupChanged(GroupChanged {
                group: Some(group),
                deleted,
            })),
        };
        self.commands.publish_and_wait(subject, &event).await
    }
}

/// The group as it will be stored: trimmed, operators deduplicated in
/// their given order, ROUND_ROBIN by default.
fn validate(request: UpsertGroupRequest) -> Result<Group> {
    if !omnibus_core::ids::is_valid_id(&request.id) || request.id.len() > 64 {
        return Err(ServiceError::invalid(
            "id is required: up to 64 letters, digits, '-' or '_'",
        ));
    }
    if request.name.chars().count() > MAX_NAME {
        return Err(ServiceError::invalid(format!(
            "name is longer than {MAX_NAME} characters"
        )));
    }
    let rule = match GroupRule::try_from(request.rule) {
        Ok(GroupRule::Unspecified) => GroupRule::RoundRobin,
        Ok(rule) => rule,
        Err(_) => {
            return Err(ServiceError::invalid(
                "rule must be GROUP_RULE_ROUND_ROBIN or GROUP_RULE_LEAST_BUSY",
            ));
        }
    };
    let mut operator_ids: Vec<String> = Vec::new();
    for (i, id) in request.operator_ids.iter().enumerate() {
        let id = id.trim();
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
            return Err(ServiceError::invalid(format!(
                "operator_ids[{i}] must be 1 to 128 characters without control characters"
            )));
        }
        if !operator_ids.iter().any(|known| known == id) {
            operator_ids.push(id.to_owned());
        }
    }
    if operator_ids.len() > MAX_OPERATORS {
        return Err(ServiceError::invalid(format!(
            "a group has at most {MAX_OPERATORS} operators"
        )));
    }
    Ok(Group {
        id: request.id,
        name: request.name.trim().to_owned(),
        operator_ids,
        rule: rule as i32,
    })
}

/// Applies a group change to `notif_groups`.
pub(crate) async fn changed(
    conn: &mut AnyConnection,
    changed: &GroupChanged,
) -> Result<(), sqlx::Error> {
    let Some(group) = &changed.group else {
        return Ok(());
    };
    sqlx::query("DELETE FROM notif_groups WHERE id = $1")
        .bind(group.id.as_str())
        .execute(&mut *conn)
        .await?;
    if changed.deleted {
        return Ok(());
    }
    sqlx::query("INSERT INTO notif_groups (id, name, operator_ids, rule) VALUES ($1, $2, $3, $4)")
        .bind(group.id.as_str())
        .bind(group.name.as_str())
        .bind(group.operator_ids.join("\n"))
        .bind(i64::from(group.rule))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_checked_and_normalized() {
        let group = validate(UpsertGroupRequest {
            id: "sales".into(),
            name: " Sales ".into(),
            operator_ids: vec!["b".into(), "a".into(), "b".into()],
            rule: 0,
        })
        .expect("valid");
        assert_eq!(group.operator_ids, ["b", "a"]);
        assert_eq!(group.rule(), GroupRule::RoundRobin);
        assert_eq!(group.name, "Sales");
        let bad_id = UpsertGroupRequest {
            id: "a.b".into(),
            ..Default::default()
        };
        assert!(validate(bad_id).is_err());
        let bad_rule = UpsertGroupRequest {
            id: "g".into(),
            rule: 99,
            ..Default::default()
        };
        assert!(validate(bad_rule).is_err());
    }
}
