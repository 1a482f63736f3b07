//! `channels create --kind wazzup`: one Wazzup account (API key) has several
//! channels (transports and numbers), and each Omnibus channel is one of
//! them. Without a `channel_id` credential, the account's channels are
//! listed (`ListProviderChannels`) and one is picked: `--pick <channel_id>`
//! (or its number in the list), else a prompt when run on a terminal.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal as _, Write};

use omnibus_proto::{ChannelKind, ListProviderChannelsRequest, ProviderChannel};

use crate::client::Api;
use crate::error::UsageError;
use crate::output;

/// Fills in the `channel_id` credential of a Wazzup channel to create,
/// from `pick` or a prompt; other kinds, and a `channel_id` already given
/// (and agreeing with `pick`), are left as they are.
pub async fn complete(
    api: &Api,
    kind: ChannelKind,
    credentials: &mut HashMap<String, String>,
    api_base_url: &str,
    pick: Option<&str>,
) -> anyhow::Result<()> {
    if kind != ChannelKind::Wazzup {
        if pick.is_some() {
            return Err(UsageError::new("--pick is for --kind wazzup").into());
        }
        return Ok(());
    }
    let given = credentials
        .get("channel_id")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match (given, pick) {
        (Some(given), Some(pick)) if given != pick => {
            return Err(UsageError::new(format!(
                "--pick {pick} and --credential channel_id={given} disagree; give one"
            ))
            .into());
        }
        (Some(_), _) => return Ok(()),
        (None, _) => {}
    }
    let request = ListProviderChannelsRequest {
        kind: kind.into(),
        credentials: credentials.clone(),
        api_base_url: api_base_url.to_owned(),
    };
    let listed = api
        .channels()
        .list_provider_channels(request)
        .await?
        .into_inner()
        .channels;
    let chosen = match pick {
        Some(pick) => choose(&listed, pick)?,
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            prompt(&listed)?
        }
        None => {
            return Err(UsageError::new(format!(
                "pick one of the account's Wazzup channels with --pick <channel_id>:\n{}",
                table(&listed)
            ))
            .into());
        }
    };
    credentials.insert("channel_id".into(), chosen.channel_id.clone());
    Ok(())
}

/// The account's channels as a numbered table: transport, number, state.
pub fn table(channels: &[ProviderChannel]) -> String {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.channel_id.clone(),
                dash(&c.transport),
                dash(&c.number),
                dash(&c.state),
            ]
        })
        .collect();
    output::table(&["#", "CHANNEL_ID", "TRANSPORT", "NUMBER", "STATE"], &rows)
}

/// The channel `pick` names: its `channel_id`, or its number in [`table`].
pub fn choose<'a>(
    channels: &'a [ProviderChannel],
    pick: &str,
) -> Result<&'a ProviderChannel, UsageError> {
    let pick = pick.trim();
    if channels.is_empty() {
        return Err(UsageError::new(
            "the Wazzup account has no channels; connect one in Wazzup first",
        ));
    }
    let by_id = channels.iter().find(|c| c.channel_id == pick);
    let by_number = pick
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| channels.get(i));
    by_id.or(by_number).ok_or_else(|| {
        UsageError::new(format!(
            "{pick:?} is not a channel of this Wazzup account; pick one of:\n{}",
            table(channels)
        ))
    })
}

/// Shows the table on stderr and reads the pick from stdin.
fn prompt(channels: &[ProviderChannel]) -> Result<&ProviderChannel, UsageError> {
    let mut stderr = std::io::stderr();
    let asked = write!(
        stderr,
        "{}pick a channel (number or channel_id): ",
        table(channels)
    )
    .and_then(|()| stderr.flush());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if asked.is_err() || read.is_err() {
        return Err(UsageError::new(
            "cannot ask which Wazzup channel; pass --pick <channel_id>",
        ));
    }
    choose(channels, &line)
}

fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels() -> Vec<ProviderChannel> {
        vec![
            ProviderChannel {
                channel_id: "f2071598-110c".into(),
                transport: "whatsapp".into(),
                number: "79011112233".into(),
                state: "active".into(),
                name: String::new(),
            },
            ProviderChannel {
                channel_id: "a1b2c3d4-0000".into(),
                transport: "instagram".into(),
                number: "acme.shop".into(),
                state: "active".into(),
                name: String::new(),
            },
        ]
    }

    #[test]
    fn a_pick_is_a_channel_id_or_its_number_in_the_list() {
        let listed = channels();
        assert_eq!(
            choose(&listed, "a1b2c3d4-0000").unwrap().transport,
            "instagram"
        );
        assert_eq!(choose(&listed, " 1\n").unwrap().number, "79011112233");
        let wrong = choose(&listed, "3").unwrap_err().to_string();
        assert!(
            wrong.contains("not a channel of this Wazzup account"),
            "{wrong}"
        );
        assert!(
            wrong.contains("79011112233"),
            "the choices are shown: {wrong}"
        );
        assert!(choose(&[], "1").is_err());
    }

    #[test]
    fn the_table_shows_transport_and_number() {
        let text = table(&channels());
        assert!(text.contains("TRANSPORT"), "{text}");
        assert!(
            text.contains("whatsapp") && text.contains("79011112233"),
            "{text}"
        );
        assert!(
            text.contains("instagram") && text.contains("acme.shop"),
            "{text}"
        );
    }
}
