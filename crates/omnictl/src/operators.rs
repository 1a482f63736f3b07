//! `omnictl operators …`: the dashboard figures of operators (presence,
//! handled today, waiting) and an operator's own presence choice, through
//! `OperatorService`.

use clap::Subcommand;
use omnibus_proto::{ListOperatorsRequest, Operator, Presence, SetPresenceRequest};

use crate::client::Api;
use crate::json::rfc3339;
use crate::output::{self, Output};
use crate::reflect;

/// `omnictl operators …`
#[derive(Debug, Subcommand)]
pub enum OperatorsCmd {
    /// List operators with presence, conversations handled today and
    /// customers waiting, and how many waiting conversations nobody has.
    List,
    /// Set an operator's presence (online, away or offline).
    Presence {
        /// Operator id.
        operator_id: String,
        /// online, away or offline.
        #[arg(value_parser = parse_presence)]
        presence: Presence,
    },
}

/// Parses `away` or `PRESENCE_AWAY`.
pub fn parse_presence(name: &str) -> Result<Presence, String> {
    let upper = name.trim().to_ascii_uppercase();
    let short = upper.strip_prefix("PRESENCE_").unwrap_or(&upper);
    Presence::from_str_name(&format!("PRESENCE_{short}"))
        .filter(|p| *p != Presence::Unspecified)
        .ok_or_else(|| format!("unknown presence {name:?}; use online, away or offline"))
}

/// Runs one `operators` subcommand.
pub async fn run(api: &Api, cmd: OperatorsCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.operators();
    match cmd {
        OperatorsCmd::List => {
            let answer = client
                .list_operators(ListOperatorsRequest {})
                .await?
                .into_inner();
            out.emit(
                || reflect::to_json(&answer, "omnibus.v1.ListOperatorsResponse"),
                || {
                    operator_table(&answer.operators)
                        + &format!("unassigned waiting: {}\n", answer.unassigned_waiting)
                },
            )?;
        }
        OperatorsCmd::Presence {
            operator_id,
            presence,
        } => {
            let request = SetPresenceRequest {
                operator_id,
                presence: presence as i32,
            };
            let operator = client.set_presence(request).await?.into_inner();
            out.emit(
                || reflect::to_json(&operator, "omnibus.v1.Operator"),
                || operator_table(std::slice::from_ref(&operator)),
            )?;
        }
    }
    Ok(())
}

fn presence(operator: &Operator) -> String {
    let name = operator.presence().as_str_name();
    name.strip_prefix("PRESENCE_").unwrap_or(name).to_owned()
}

fn operator_table(operators: &[Operator]) -> String {
    let rows: Vec<Vec<String>> = operators
        .iter()
        .map(|o| {
            vec![
                o.id.clone(),
                presence(o),
                o.handled_today.to_string(),
                o.waiting.to_string(),
                rfc3339(o.last_seen_at.as_ref()).unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    output::table(
        &["ID", "PRESENCE", "HANDLED_TODAY", "WAITING", "LAST_SEEN"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_parses_short_and_full_names() {
        assert_eq!(parse_presence("away"), Ok(Presence::Away));
        assert_eq!(parse_presence("PRESENCE_ONLINE"), Ok(Presence::Online));
        assert!(parse_presence("busy").unwrap_err().contains("online, away"));
    }
}
