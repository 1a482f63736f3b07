//! `omnictl groups …`: operator groups, the targets of channel routing
//! (`ChannelSettings.routing.group_id`), through `OperatorService`.

use clap::Subcommand;
use omnibus_proto::{
    DeleteGroupRequest, Group, GroupRule, ListGroupsRequest, ListGroupsResponse, UpsertGroupRequest,
};

use crate::client::Api;
use crate::output::{self, Output};
use crate::reflect;

/// `omnictl groups …`
#[derive(Debug, Subcommand)]
pub enum GroupsCmd {
    /// List groups with their rule and operators.
    List,
    /// Create or replace a group.
    Upsert {
        /// Group id: letters, digits, '-' and '_'.
        id: String,
        /// A name people read.
        #[arg(long, default_value = "")]
        name: String,
        /// Operator ids, in round-robin order (repeat or separate by commas).
        #[arg(long = "operator", value_name = "ID", value_delimiter = ',')]
        operators: Vec<String>,
        /// round-robin (default) or least-busy.
        #[arg(long, value_parser = parse_rule, default_value = "round-robin")]
        rule: GroupRule,
    },
    /// Delete a group.
    Delete {
        /// Group id.
        id: String,
    },
}

/// Parses `least-busy`, `LEAST_BUSY` or `GROUP_RULE_LEAST_BUSY`.
pub fn parse_rule(name: &str) -> Result<GroupRule, String> {
    let upper = name.trim().to_ascii_uppercase().replace('-', "_");
    let short = upper.strip_prefix("GROUP_RULE_").unwrap_or(&upper);
    GroupRule::from_str_name(&format!("GROUP_RULE_{short}"))
        .filter(|r| *r != GroupRule::Unspecified)
        .ok_or_else(|| format!("unknown rule {name:?}; use round-robin or least-busy"))
}

/// Runs one `groups` subcommand.
pub async fn run(api: &Api, cmd: GroupsCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.operators();
    match cmd {
        GroupsCmd::List => {
            let answer = client.list_groups(ListGroupsRequest {}).await?.into_inner();
            out.emit(
                || reflect::to_json(&answer, "omnibus.v1.ListGroupsResponse"),
                || group_table(&answer.groups),
            )?;
        }
        GroupsCmd::Upsert {
            id,
            name,
            operators,
            rule,
        } => {
            let request = UpsertGroupRequest {
                id,
                name,
                operator_ids: operators,
                rule: rule as i32,
            };
            let group = client.upsert_group(request).await?.into_inner();
            out.emit(
                || reflect::to_json(&group, "omnibus.v1.Group"),
                || group_table(std::slice::from_ref(&group)),
            )?;
        }
        GroupsCmd::Delete { id } => {
            client.delete_group(DeleteGroupRequest { id }).await?;
            let empty = ListGroupsResponse::default();
            out.emit(
                || reflect::to_json(&empty, "omnibus.v1.ListGroupsResponse"),
                || "deleted\n".to_owned(),
            )?;
        }
    }
    Ok(())
}

fn group_table(groups: &[Group]) -> String {
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let rule = g.rule().as_str_name();
            vec![
                g.id.clone(),
                g.name.clone(),
                rule.strip_prefix("GROUP_RULE_").unwrap_or(rule).to_owned(),
                g.operator_ids.join(","),
            ]
        })
        .collect();
    output::table(&["ID", "NAME", "RULE", "OPERATORS"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_in_any_spelling() {
        assert_eq!(parse_rule("least-busy"), Ok(GroupRule::LeastBusy));
        assert_eq!(
            parse_rule("GROUP_RULE_ROUND_ROBIN"),
            Ok(GroupRule::RoundRobin)
        );
        assert!(parse_rule("random").is_err());
    }
}
