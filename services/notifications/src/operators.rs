//! `OperatorService`: presence and per-operator figures for a dashboard.
//!
//! Presence is derived from open `Subscribe` streams carrying an operator id
//! (an operator UI keeps one open while the person works): online while
//! one is open, away for a while after the last one closed, then offline.
//! It lives in this process's memory, so with several replicas each knows
//! the streams it serves. The counts come from the projection.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use omnibus_proto::{
    DeleteGroupRequest, DeleteGroupResponse, Group, ListGroupsRequest, ListGroupsResponse,
    ListOperatorsRequest, ListOperatorsResponse, Operator, Presence, SetPresenceRequest,
    UpsertGroupRequest, operator_service_server::OperatorService,
};
use omnibus_store::Store;
use tonic::{Request, Response, Status};

use crate::hub::Hub;
use crate::{Result, ServiceError};

const DAY_MS: i64 = 86_400_000;

/// The UTC day number (days since 1970-01-01) of a unix-ms time.
pub fn utc_day(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// `OperatorService` over the projection and the hub's presence.
#[derive(Clone)]
pub struct OperatorApi {
    /// The projection store.
    pub store: Store,
    /// Open streams per operator.
    pub hub: Hub,
    /// How long an operator stays AWAY after the last stream closed.
    pub away_for: Duration,
    /// Operator groups.
    pub groups: crate::groups::Groups,
}

#[derive(Default)]
struct Figures {
    handled_today: u32,
    waiting: u32,
}

impl OperatorApi {
    async fn figures(&self) -> Result<(BTreeMap<String, Figures>, u32)> {
        let today = utc_day(omnibus_core::now_ms());
        let handled: Vec<(String, i64)> = sqlx::query_as(
            "SELECT operator_id, COUNT(*) FROM notif_handled WHERE day = $1 GROUP BY operator_id",
        )
        .bind(today)
        .fetch_all(self.store.pool())
        .await?;
        let waiting: Vec<(String, i64)> = sqlx::query_as(
            "SELECT assignee_id, SUM(CASE WHEN waiting_seq > 0 AND closed = 0 THEN 1 ELSE 0 END) \
             FROM notif_conversations GROUP BY assignee_id",
        )
        .fetch_all(self.store.pool())
        .await?;
        let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
        let mut unassigned = 0;
        for (operator, count) in handled {
            figures.entry(operator).or_default().handled_today = clamp(count);
        }
        for (operator, count) in waiting {
            if operator.is_empty() {
                unassigned = clamp(count);
            } else {
                figures.entry(operator).or_default().waiting = clamp(count);
            }
        }
        Ok((figures, unassigned))
    }

    fn presence_of(
        &self,
        presence: &HashMap<String, crate::hub::Presence>,
        id: &str,
    ) -> (Presence, i64) {
        let Some(seen) = presence.get(id) else {
            return (Presence::Offline, 0);
        };
        if seen.streams > 0 {
            return (seen.chosen.unwrap_or(Presence::Online), 0);
        }
        let away_until = seen
            .left_at_ms
            .saturating_add(self.away_for.as_millis() as i64);
        if omnibus_core::now_ms() < away_until {
            (Presence::Away, seen.left_at_ms)
        } else {
            (Presence::Offline, seen.left_at_ms)
        }
    }
}

#[tonic::async_trait]
impl OperatorService for OperatorApi {
    async fn list_operators(
        &self,
        _request: Request<ListOperatorsRequest>,
    ) -> Result<Response<ListOperatorsResponse>, Status> {
        let (mut figures, unassigned_waiting) = self.figures().await?;
        let presence = self.hub.presence();
        for id in presence.keys() {
            figures.entry(id.clone()).or_default();
        }
        let operators = figures
            .into_iter()
            .map(|(id, f)| {
                let (state, left_at_ms) = self.presence_of(&presence, &id);
                Operator {
                    presence: state as i32,
                    handled_today: f.handled_today,
                    waiting: f.waiting,
                    last_seen_at: omnibus_core::clock::timestamp(left_at_ms),
                    id,
                }
            })
            .collect();
        Ok(Response::new(ListOperatorsResponse {
            operators,
            unassigned_waiting,
        }))
    }

    async fn set_presence(
        &self,
        request: Request<SetPresenceRequest>,
    ) -> Result<Response<Operator>, Status> {
        let request = request.into_inner();
        let presence = check_presence(&request)?;
        self.hub.choose(&request.operator_id, presence);
        let listed = self
            .list_operators(Request::new(ListOperatorsRequest {}))
            .await?;
        let operator = listed
            .into_inner()
            .operators
            .into_iter()
            .find(|o| o.id == request.operator_id)
            .unwrap_or_default();
        Ok(Response::new(operator))
    }

    async fn upsert_group(
        &self,
        request: Request<UpsertGroupRequest>,
    ) -> Result<Response<Group>, Status> {
        Ok(Response::new(
            self.groups.upsert(request.into_inner()).await?,
        ))
    }

    async fn list_groups(
        &self,
        _request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        let groups = self.groups.list().await?;
        Ok(Response::new(ListGroupsResponse { groups }))
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        self.groups.delete(&request.into_inner().id).await?;
        Ok(Response::new(DeleteGroupResponse {}))
    }
}

fn check_presence(request: &SetPresenceRequest) -> Result<Presence> {
    if request.operator_id.is_empty() {
        return Err(ServiceError::invalid("operator_id is required"));
    }
    match Presence::try_from(request.presence) {
        Ok(Presence::Unspecified) | Err(_) => Err(ServiceError::invalid(
            "presence must be PRESENCE_ONLINE, PRESENCE_AWAY or PRESENCE_OFFLINE",
        )),
        Ok(presence) => Ok(presence),
    }
}

fn clamp(count: i64) -> u32 {
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_floor_negative_times() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(DAY_MS - 1), 0);
        assert_eq!(utc_day(DAY_MS), 1);
        assert_eq!(utc_day(-1), -1);
    }
}
