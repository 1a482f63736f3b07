//! `omnictl channels …`: create, list, get, update and delete channels.

use std::collections::HashMap;
use std::path::Path;

use omnibus_proto::{
    ChannelSettings, CreateChannelRequest, DeleteChannelRequest, GetChannelRequest,
    ListChannelsRequest, UpdateChannelRequest,
};
use serde_json::Value;

use crate::cli::{
    ChannelCreateArgs, ChannelListArgs, ChannelUpdateArgs, ChannelsCmd, SettingsArgs,
};
use crate::client::{Api, collect_pages};
use crate::error::UsageError;
use crate::json;
use crate::output::{self, Output};
use crate::reflect;

/// Full name of the settings message, for protobuf JSON.
const SETTINGS: &str = "omnibus.v1.ChannelSettings";

/// Runs one `channels` subcommand.
pub async fn run(api: &Api, cmd: ChannelsCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        ChannelsCmd::Create(args) => create(api, args, out).await,
        ChannelsCmd::List(args) => list(api, args, out).await,
        ChannelsCmd::Get { id } => {
            let channel = api
                .channels()
                .get_channel(GetChannelRequest { id })
                .await?
                .into_inner();
            out.emit(
                || json::channel(&channel),
                || output::channel_block(&channel),
            )?;
            Ok(())
        }
        ChannelsCmd::Update(args) => update(api, args, out).await,
        ChannelsCmd::Delete { id } => {
            let channel = api
                .channels()
                .delete_channel(DeleteChannelRequest { id })
                .await?
                .into_inner();
            out.emit(
                || json::channel(&channel),
                || format!("deleted channel {}\n", channel.id),
            )?;
            Ok(())
        }
    }
}

async fn create(api: &Api, args: ChannelCreateArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let settings = if args.settings.is_empty() {
        None
    } else {
        Some(merge_settings(ChannelSettings::default(), &args.settings)?)
    };
    let api_base_url = args.api_base_url.unwrap_or_default();
    let mut credentials = credential_map(args.credentials);
    let pick = args.pick.as_deref();
    crate::wazzup_pick::complete(api, args.kind, &mut credentials, &api_base_url, pick).await?;
    let request = CreateChannelRequest {
        kind: args.kind.into(),
        name: args.name,
        credentials,
        settings,
        api_base_url,
    };
    let channel = api.channels().create_channel(request).await?.into_inner();
    out.emit(
        || json::channel(&channel),
        || output::channel_block(&channel),
    )?;
    Ok(())
}

async fn list(api: &Api, args: ChannelListArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let client = api.channels();
    let page_size = args.page.page_size.unwrap_or(0);
    let include_deleted = args.include_deleted;
    let (channels, next) = collect_pages(args.page.page_token, args.page.all, |page_token| {
        let mut client = client.clone();
        async move {
            let request = ListChannelsRequest {
                page_size,
                page_token,
                include_deleted,
            };
            let page = client.list_channels(request).await?.into_inner();
            Ok((page.channels, page.next_page_token))
        }
    })
    .await?;
    out.emit(
        || {
            json::page(
                "channels",
                channels.iter().map(json::channel).collect(),
                &next,
            )
        },
        || output::channel_table(&channels) + &output::next_page_hint(&next),
    )?;
    Ok(())
}

async fn update(api: &Api, args: ChannelUpdateArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.channels();
    // UpdateChannel replaces the settings as a whole, so merge the flags
    // over the current settings rather than resetting what was not given.
    let settings = if args.settings.is_empty() {
        None
    } else {
        let current = client
            .get_channel(GetChannelRequest {
                id: args.id.clone(),
            })
            .await?
            .into_inner();
        Some(merge_settings(
            current.settings.unwrap_or_default(),
            &args.settings,
        )?)
    };
    let request = UpdateChannelRequest {
        id: args.id,
        name: args.name,
        credentials: credential_map(args.credentials),
        settings,
        api_base_url: args.api_base_url,
    };
    let channel = client.update_channel(request).await?.into_inner();
    out.emit(
        || json::channel(&channel),
        || output::channel_block(&channel),
    )?;
    Ok(())
}

/// Collects `KEY=VALUE` pairs; a repeated key keeps the last value.
pub fn credential_map(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

/// Returns `base` with the settings file's keys and then every settings
/// flag that was given applied over it.
pub fn merge_settings(
    base: ChannelSettings,
    flags: &SettingsArgs,
) -> Result<ChannelSettings, UsageError> {
    let mut base = match &flags.settings_file {
        Some(path) => merge_file(base, path)?,
        None => base,
    };
    if let Some(n) = flags.inactivity_close_seconds {
        base.inactivity_close_seconds = Some(n);
    }
    if let Some(text) = &flags.closing_message {
        base.closing_message.clone_from(text);
    }
    if let Some(text) = &flags.off_hours_message {
        base.off_hours_message.clone_from(text);
    }
    if let Some(name) = &flags.default_template {
        base.default_template.clone_from(name);
    }
    if let Some(n) = flags.unanswered_after_seconds {
        base.unanswered_after_seconds = Some(n);
    }
    Ok(base)
}

/// Reads a YAML or JSON settings file (JSON is YAML too) and lays its
/// top-level keys over `base`: a key the file has replaces the current
/// value as a whole, keys it lacks are kept.
pub fn merge_file(base: ChannelSettings, path: &Path) -> Result<ChannelSettings, UsageError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read --settings-file {shown}: {e}")))?;
    let file: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| UsageError::new(format!("{shown} is not YAML or JSON: {e}")))?;
    let Value::Object(keys) = file else {
        return Err(UsageError::new(format!(
            "{shown} must hold a mapping of settings (inactivity_close_seconds, schedule, ...)"
        )));
    };
    let mut merged = reflect::to_json(&base, SETTINGS);
    if let Value::Object(current) = &mut merged {
        current.retain(|_, v| !v.is_null());
        current.extend(keys);
    }
    reflect::from_json(&merged, SETTINGS).map_err(|e| UsageError::new(format!("{shown}: {e}")))
}

#[cfg(test)]
mod tests {
    use omnibus_proto::AutoReply;

    use super::*;

    #[test]
    fn settings_flags_merge_over_the_current_settings() {
        let current = ChannelSettings {
            inactivity_close_seconds: Some(900),
            closing_message: "Bye".to_owned(),
            auto_replies: vec![AutoReply {
                text: "We are on it".to_owned(),
                delay_seconds: 30,
            }],
            off_hours_message: "Closed".to_owned(),
            ..Default::default()
        };
        let flags = SettingsArgs {
            closing_message: Some("Goodbye".to_owned()),
            unanswered_after_seconds: Some(120),
            ..Default::default()
        };
        let merged = merge_settings(current, &flags).unwrap();
        assert_eq!(merged.inactivity_close_seconds, Some(900));
        assert_eq!(merged.closing_message, "Goodbye");
        assert_eq!(merged.off_hours_message, "Closed");
        assert_eq!(merged.unanswered_after_seconds, Some(120));
        assert_eq!(
            merged.auto_replies.len(),
            1,
            "settings without flags are kept"
        );
    }

    #[test]
    fn a_repeated_credential_keeps_the_last_value() {
        let map = credential_map(vec![
            ("bot_token".to_owned(), "a".to_owned()),
            ("bot_token".to_owned(), "b".to_owned()),
        ]);
        assert_eq!(map["bot_token"], "b");
    }
}
