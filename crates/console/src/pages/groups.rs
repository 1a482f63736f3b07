//! Operator groups, the teams routing hands conversations to: each group's
//! members with their presence (a group with nobody online keeps its
//! conversations waiting), how it shares them, and the forms to create,
//! change and delete one. A channel's routing and an operator's "assign to
//! group" name a group by its id.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse as _, Response};
use omnibus_proto::{
    DeleteGroupRequest, Group, GroupRule, ListGroupsRequest, Presence, UpsertGroupRequest,
};
use serde::Deserialize;

use super::{Notice, act, back, done};
use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc, url_enc};
use crate::session::Session;

/// Where every group action returns.
const GROUPS: &str = "/console/groups";

/// `GET /console/groups`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let groups = api
        .operators()
        .list_groups(ListGroupsRequest {})
        .await?
        .into_inner()
        .groups;
    let operators = api.all_operators().await?;
    let presence: HashMap<&str, Presence> = operators
        .iter()
        .map(|o| (o.id.as_str(), o.presence()))
        .collect();
    let rows: String = groups.iter().map(|g| row(g, &presence)).collect();
    let table = match rows.is_empty() {
        true => {
            r#"<p class="muted" id="no-groups">No groups yet: create one below.</p>"#.to_owned()
        }
        false => format!(
            r#"<div class="scroll"><table id="groups"><thead><tr><th>Group</th><th>Shares conversations</th><th>Operators</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>"#
        ),
    };
    let known: Vec<&str> = operators.iter().map(|o| o.id.as_str()).collect();
    let body = format!(
        r#"<section class="panel wide"><h1>Groups</h1>{notice}<p class="hint">A channel's routing sends new conversations to a group by its id, and operators assign conversations to one; the group gives each to one of its online operators.</p>{table}</section><section class="panel wide"><h2>New group</h2>{form}</section>"#,
        notice = html::notice(notice.notice.as_deref()),
        form = group_form(None, &known),
    );
    Ok(Html(html::page(
        "Groups",
        Nav::Groups,
        &session.operator_id,
        &body,
    )))
}

fn row(g: &Group, presence: &HashMap<&str, Presence>) -> String {
    let members: String = g
        .operator_ids
        .iter()
        .map(|id| {
            let state = presence
                .get(id.as_str())
                .copied()
                .unwrap_or(Presence::Offline);
            let word = match state {
                Presence::Online => "online",
                Presence::Away => "away",
                _ => "offline",
            };
            format!(
                r#"<span class="member {word}" title="{word}">{}</span>"#,
                esc(id)
            )
        })
        .collect();
    let online = g
        .operator_ids
        .iter()
        .filter(|id| presence.get(id.as_str()) == Some(&Presence::Online))
        .count();
    let members = match g.operator_ids.is_empty() {
        true => r#"<span class="muted">nobody yet</span>"#.to_owned(),
        false => format!(
            r#"<span class="members">{members}</span><span class="muted">{online} of {} online</span>"#,
            g.operator_ids.len()
        ),
    };
    format!(
        r#"<tr data-group="{id}"><td><strong>{name}</strong> <code>{id}</code></td><td>{rule}</td><td>{members}</td><td><details class="group-edit"><summary>Edit</summary>{form}</details><details class="group-delete"><summary>Delete</summary><form method="post" action="/console/groups/{path}/delete"><button class="danger">Delete {name}</button></form></details></td></tr>"#,
        id = esc(&g.id),
        path = url_enc(&g.id),
        name = esc(if g.name.is_empty() { &g.id } else { &g.name }),
        rule = rule_name(g.rule()),
        form = group_form(Some(g), &[]),
    )
}

fn rule_name(rule: GroupRule) -> &'static str {
    match rule {
        GroupRule::LeastBusy => "Least busy first",
        _ => "In turn (round robin)",
    }
}

/// The form for a new group (`None`) or for changing `group`; `known`
/// operators are offered as a hint.
fn group_form(group: Option<&Group>, known: &[&str]) -> String {
    let g = group.cloned().unwrap_or_default();
    // Ids stay unique within the page: the new group's form has bare ids.
    let suffix = match group {
        Some(g) => format!("-{}", esc(&g.id)),
        None => String::new(),
    };
    let id_field = match group {
        Some(g) => format!(
            r#"<input type="hidden" name="id" value="{}"><input type="hidden" name="mode" value="edit">"#,
            esc(&g.id)
        ),
        None => r#"<label for="group-id">Id <span class="muted">(letters, digits, - and _; routing and assignment use it)</span></label><input id="group-id" name="id" required maxlength="64" autocomplete="off" spellcheck="false"><input type="hidden" name="mode" value="new">"#.to_owned(),
    };
    let rules: String = [GroupRule::RoundRobin, GroupRule::LeastBusy]
        .iter()
        .map(|r| {
            let selected = if g.rule() == *r { " selected" } else { "" };
            format!(
                r#"<option value="{}"{selected}>{}</option>"#,
                r.as_str_name(),
                rule_name(*r)
            )
        })
        .collect();
    let hint = match known.is_empty() {
        true => String::new(),
        false => format!(
            r#" <span class="muted">(seen so far: {})</span>"#,
            esc(&known.join(", "))
        ),
    };
    format!(
        r#"<form method="post" action="/console/groups" class="stack">{id_field}<label for="group-name{suffix}">Name</label><input id="group-name{suffix}" name="name" maxlength="200" value="{name}"><label for="group-rule{suffix}">Shares conversations</label><select id="group-rule{suffix}" name="rule">{rules}</select><label for="group-operators{suffix}">Operators, one a line or comma separated{hint}</label><textarea id="group-operators{suffix}" name="operators" rows="3" spellcheck="false">{operators}</textarea><button class="primary" id="save-group{suffix}">{verb}</button></form>"#,
        name = esc(&g.name),
        operators = esc(&g.operator_ids.join("\n")),
        verb = if group.is_some() {
            "Save"
        } else {
            "Create group"
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GroupForm {
    #[serde(default)]
    id: String,
    /// `new` refuses to replace an existing group; `edit` replaces it.
    #[serde(default)]
    mode: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    operators: String,
}

fn upsert_request(form: &GroupForm) -> UpsertGroupRequest {
    UpsertGroupRequest {
        id: form.id.trim().to_owned(),
        name: form.name.trim().to_owned(),
        operator_ids: form
            .operators
            .split(['\n', ','])
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect(),
        rule: GroupRule::from_str_name(&form.rule).unwrap_or_default() as i32,
    }
}

/// `POST /console/groups`: creates a group, or replaces one from its edit
/// form. UpsertGroup replaces silently, so a new group whose id is taken is
/// refused here rather than overwriting a team.
pub(crate) async fn save(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<GroupForm>,
) -> Response {
    let request = upsert_request(&form);
    if request.id.is_empty() {
        return back(GROUPS, "Not saved: give the group an id.").into_response();
    }
    let new = form.mode != "edit";
    let result = act(&state, &session, |api| async move {
        let mut client = api.operators();
        if new {
            let groups = client.list_groups(ListGroupsRequest {}).await?.into_inner();
            if groups.groups.iter().any(|g| g.id == request.id) {
                return Err(tonic::Status::already_exists(format!(
                    "a group with id {} already exists; change it in the list",
                    request.id
                )));
            }
        }
        let group = client.upsert_group(request).await?.into_inner();
        let name = if group.name.is_empty() {
            group.id
        } else {
            group.name
        };
        Ok(match new {
            true => format!("Created group {name}."),
            false => format!("Saved group {name}."),
        })
    });
    done(result.await, GROUPS, "Not saved")
}

/// `POST /console/groups/{id}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let request = DeleteGroupRequest { id: id.clone() };
    let result = act(&state, &session, |api| async move {
        api.operators().delete_group(request).await?;
        Ok(format!("Deleted group {id}."))
    });
    done(result.await, GROUPS, "Not deleted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_back_into_a_group() {
        let form = GroupForm {
            id: " billing ".into(),
            name: "Billing".into(),
            rule: "GROUP_RULE_LEAST_BUSY".into(),
            operators: "alice, bob\n\n carol \n".into(),
            ..Default::default()
        };
        let request = upsert_request(&form);
        assert_eq!(request.id, "billing");
        assert_eq!(request.operator_ids, ["alice", "bob", "carol"]);
        assert_eq!(request.rule, GroupRule::LeastBusy as i32);
    }

    #[test]
    fn groups_from_the_api_are_escaped() {
        let group = Group {
            id: "g1".into(),
            name: "<i>Sales</i>".into(),
            operator_ids: vec!["\"bob\"".into()],
            rule: GroupRule::RoundRobin as i32,
        };
        let html = row(&group, &HashMap::new());
        assert!(
            !html.contains("<i>") && html.contains("&lt;i&gt;Sales"),
            "{html}"
        );
        assert!(html.contains("&quot;bob&quot;") && html.contains("0 of 1 online"));
    }
}
