//! The team lead's channels: status and the reason of an ERROR, creating a
//! channel with its credentials, and each channel's settings.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use omnibus_proto::{
    AutoReply, Channel, ChannelKind, ChannelSettings, ChannelStatus, CreateChannelRequest,
    GetChannelRequest, Schedule, UpdateChannelRequest, WeeklyInterval,
};
use serde::Deserialize;

use super::{Notice, act, done};
use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc};
use crate::session::Session;

/// `GET /console/channels`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let channels = api.all_channels().await?;
    let rows: String = channels.iter().map(channel_card).collect();
    let rows = if rows.is_empty() {
        r#"<p class="muted">No channels yet: connect one below.</p>"#.to_owned()
    } else {
        rows
    };
    let body = format!(
        r#"<section class="panel wide"><h1>Channels</h1>{notice}<div class="cards">{rows}</div></section><section class="panel wide"><h2>Connect a channel</h2>{create}</section>"#,
        notice = html::notice(notice.notice.as_deref()),
        create = create_form(),
    );
    Ok(Html(html::page(
        "Channels",
        Nav::Channels,
        &session.operator_id,
        &body,
    )))
}

fn channel_card(c: &Channel) -> String {
    let status = match c.status() {
        ChannelStatus::Error => format!(
            r#"<span class="pill error">Error</span> <span class="error">{}</span>"#,
            esc(&c.status_reason)
        ),
        ChannelStatus::Deleted => r#"<span class="pill closed">Deleted</span>"#.to_owned(),
        _ => r#"<span class="pill open">Active</span>"#.to_owned(),
    };
    format!(
        r#"<article class="card"><h3>{badge} {name}</h3><p>{status}</p><p class="muted">Webhook <code>{path}</code></p><details><summary>Settings</summary>{form}</details></article>"#,
        badge = html::kind_badge(c.kind()),
        name = esc(&c.name),
        path = esc(&c.webhook_path),
        form = settings_form(c),
    )
}

fn create_form() -> String {
    let kinds: String = [
        ChannelKind::Telegram,
        ChannelKind::Whatsapp,
        ChannelKind::Viber,
        ChannelKind::Vk,
        ChannelKind::Instagram,
        ChannelKind::Wazzup,
    ]
    .iter()
    .map(|k| {
        format!(
            r#"<option value="{}">{}</option>"#,
            k.as_str_name(),
            html::kind_name(*k)
        )
    })
    .collect();
    format!(
        r#"<form method="post" action="/console/channels" class="stack"><label for="kind">Messenger</label><select id="kind" name="kind">{kinds}</select><label for="name">Name <span class="muted">(optional: Telegram uses the bot's name)</span></label><input id="name" name="name"><label for="credentials">Credentials, one <code>key=value</code> a line <span class="muted">(telegram: bot_token, secret_token; whatsapp: access_token, app_secret, verify_token, phone_number_id, business_account_id)</span></label><textarea id="credentials" name="credentials" rows="4" autocomplete="off" spellcheck="false"></textarea><label for="api_base_url">Provider API base URL <span class="muted">(optional)</span></label><input id="api_base_url" name="api_base_url"><button class="primary">Connect</button></form>"#
    )
}

fn settings_form(c: &Channel) -> String {
    let s = c.settings.clone().unwrap_or_default();
    let replies: String = s
        .auto_replies
        .iter()
        .map(|r| format!("{} {}\n", r.delay_seconds, r.text))
        .collect();
    let schedule = s.schedule.clone().unwrap_or_default();
    let hours: String = schedule
        .weekly
        .iter()
        .map(|w| format!("{} {} {}\n", w.weekday, w.open, w.close))
        .collect();
    let id = esc(&c.id);
    let field = |name: &str, label: &str, value: &str| {
        format!(
            r#"<label for="{name}-{id}">{label}</label><input id="{name}-{id}" name="{name}" value="{}">"#,
            esc(value)
        )
    };
    let area = |name: &str, label: &str, value: &str| {
        format!(
            r#"<label for="{name}-{id}">{label}</label><textarea id="{name}-{id}" name="{name}" rows="2">{}</textarea>"#,
            esc(value)
        )
    };
    format!(
        r#"<form method="post" action="/console/channels/{id}/settings" class="stack">{}{}{}{}{}{}{}{}{}<button>Save settings</button></form>"#,
        field(
            "inactivity_close_seconds",
            "Close after inactivity (seconds)",
            &s.inactivity_close_seconds.unwrap_or(600).to_string()
        ),
        field("closing_message", "Closing message", &s.closing_message),
        area(
            "auto_replies",
            "Auto-replies, one a line: <code>delay_seconds text</code>",
            &replies
        ),
        field(
            "timezone",
            "Working hours time zone (IANA, empty: always open)",
            &schedule.timezone
        ),
        area(
            "hours",
            "Working hours, one a line: <code>weekday(1-7) HH:MM HH:MM</code>",
            &hours
        ),
        field(
            "holidays",
            "Holidays (YYYY-MM-DD, comma separated)",
            &schedule.holidays.join(", ")
        ),
        field(
            "off_hours_message",
            "Off-hours message",
            &s.off_hours_message
        ),
        field(
            "default_template",
            "Default template (windowed channels)",
            &s.default_template
        ),
        field(
            "unanswered_after_seconds",
            "Unanswered after (seconds)",
            &s.unanswered_after_seconds
                .map(|v| v.to_string())
                .unwrap_or_default()
        ),
    )
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    credentials: String,
    #[serde(default)]
    api_base_url: String,
}

/// `POST /console/channels`.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CreateForm>,
) -> Response {
    let credentials: HashMap<String, String> = form
        .credentials
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let request = CreateChannelRequest {
        kind: ChannelKind::from_str_name(&form.kind).unwrap_or_default() as i32,
        name: form.name.trim().to_owned(),
        credentials,
        settings: None,
        api_base_url: form.api_base_url.trim().to_owned(),
    };
    let result = act(&state, &session, |api| async move {
        let channel = api.channels().create_channel(request).await?.into_inner();
        Ok(format!("Connected {}.", channel.name))
    });
    done(result.await, "/console/channels", "Not connected")
}

/// `POST /console/channels/{id}/settings`.
pub(crate) async fn settings(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // The form edits what it shows; settings it does not show (routing,
    // Viber's welcome message, Instagram's human-agent tag, ...) are kept.
    let result = act(&state, &session, |api| async move {
        let current = api
            .channels()
            .get_channel(GetChannelRequest { id: id.clone() })
            .await?
            .into_inner();
        let settings = parse_settings(&form, current.settings.unwrap_or_default())
            .map_err(tonic::Status::invalid_argument)?;
        let request = UpdateChannelRequest {
            id,
            settings: Some(settings),
            ..Default::default()
        };
        api.channels().update_channel(request).await?;
        Ok("Settings saved.".to_owned())
    });
    done(result.await, "/console/channels", "Not saved")
}

fn parse_settings(
    form: &HashMap<String, String>,
    current: ChannelSettings,
) -> Result<ChannelSettings, String> {
    let get = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or("");
    let number = |k: &str| -> Result<Option<u32>, String> {
        match get(k) {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{k}: {v:?} is not a whole number")),
        }
    };
    let auto_replies = get("auto_replies")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (delay, text) = l
                .trim()
                .split_once(' ')
                .ok_or(format!("auto-reply {l:?}: write `seconds text`"))?;
            let delay_seconds = delay
                .parse()
                .map_err(|_| format!("auto-reply {l:?}: {delay:?} is not seconds"))?;
            Ok(AutoReply {
                text: text.trim().to_owned(),
                delay_seconds,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let weekly = get("hours")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                [day, open, close] => Ok(WeeklyInterval {
                    weekday: day
                        .parse()
                        .map_err(|_| format!("working hours {l:?}: weekday is 1-7"))?,
                    open: (*open).to_owned(),
                    close: (*close).to_owned(),
                }),
                _ => Err(format!("working hours {l:?}: write `weekday HH:MM HH:MM`")),
            },
        )
        .collect::<Result<Vec<_>, String>>()?;
    let holidays = get("holidays")
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    let timezone = get("timezone").to_owned();
    let schedule = (!timezone.is_empty() || !weekly.is_empty()).then_some(Schedule {
        timezone,
        weekly,
        holidays,
    });
    Ok(ChannelSettings {
        inactivity_close_seconds: number("inactivity_close_seconds")?,
        closing_message: get("closing_message").to_owned(),
        auto_replies,
        schedule,
        off_hours_message: get("off_hours_message").to_owned(),
        default_template: get("default_template").to_owned(),
        unanswered_after_seconds: number("unanswered_after_seconds")?,
        ..current
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_forms_read_back_into_settings() {
        let form: HashMap<String, String> = [
            ("inactivity_close_seconds", "900"),
            ("auto_replies", "0 Hello!\n30 An operator will answer soon"),
            ("timezone", "Europe/Moscow"),
            ("hours", "1 09:00 18:00\n2 09:00 18:00"),
            ("holidays", "2026-01-01, 2026-01-02"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let kept = ChannelSettings {
            human_agent_tag: true,
            ..Default::default()
        };
        let s = parse_settings(&form, kept).unwrap();
        assert!(
            s.human_agent_tag,
            "settings the form does not show are kept"
        );
        assert_eq!(s.inactivity_close_seconds, Some(900));
        assert_eq!(s.auto_replies[1].delay_seconds, 30);
        assert_eq!(s.auto_replies[1].text, "An operator will answer soon");
        let schedule = s.schedule.unwrap();
        assert_eq!(schedule.weekly.len(), 2);
        assert_eq!(schedule.holidays, ["2026-01-01", "2026-01-02"]);
        let mut bad = form.clone();
        bad.insert("hours".into(), "Monday 9-6".into());
        assert!(
            parse_settings(&bad, ChannelSettings::default())
                .unwrap_err()
                .contains("weekday")
        );
    }
}
