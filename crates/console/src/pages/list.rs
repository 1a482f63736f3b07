//! The conversation list, as support desks show it: who, where, the last
//! message and when, status, who holds it, unread, unanswered and for how
//! long, and the 24-hour window on windowed messengers. Filters: mine /
//! unassigned / all, open / closed, channel, and a search by name or phone.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use futures::future::join_all;
use omnibus_proto::{
    Channel, ChannelKind, Conversation, ConversationStatus, Direction, GetWindowRequest,
    ListConversationsRequest, Window,
};
use serde::Deserialize;

use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc, span, url_enc};
use crate::session::Session;

/// Conversations per page.
const PAGE_SIZE: u32 = 50;

/// The list's filters, from the query string (kept across pages).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Filters {
    /// `mine`, `unassigned` or `all` (default).
    #[serde(default)]
    pub view: String,
    /// `open` (default), `closed` or `all`.
    #[serde(default)]
    pub status: String,
    /// A channel id, or empty for every channel.
    #[serde(default)]
    pub channel: String,
    /// A customer's name or phone.
    #[serde(default)]
    pub q: String,
    /// The page to show.
    #[serde(default)]
    pub page: String,
    /// A line to show after an action.
    pub notice: Option<String>,
}

impl Filters {
    /// The query string that keeps these filters (without the page).
    pub fn query(&self) -> String {
        format!(
            "view={}&status={}&channel={}&q={}",
            url_enc(&self.view),
            url_enc(&self.status),
            url_enc(&self.channel),
            url_enc(&self.q)
        )
    }

    fn request(&self, operator_id: &str) -> ListConversationsRequest {
        let status = match self.status.as_str() {
            "closed" => ConversationStatus::Closed,
            "all" => ConversationStatus::Unspecified,
            _ => ConversationStatus::Open,
        };
        ListConversationsRequest {
            status: status as i32,
            channel_id: self.channel.clone(),
            assignee_id: match self.view.as_str() {
                "mine" => operator_id.to_owned(),
                _ => String::new(),
            },
            query: self.q.trim().to_owned(),
            page_size: PAGE_SIZE,
            page_token: self.page.clone(),
            ..Default::default()
        }
    }
}

/// `GET /console/`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let channels = api.all_channels().await?;
    let pane = pane(&api, &session, &filters, &channels, "").await?;
    let body = format!(
        r#"<div class="inbox only-list">{pane}<section class="thread empty-thread" aria-label="Conversation"><p class="muted">Pick a conversation on the left.</p></section></div>"#
    );
    Ok(Html(html::page(
        "Conversations",
        Nav::Inbox,
        &session.operator_id,
        &body,
    )))
}

/// The list pane (filters and rows); `selected` is the open conversation.
pub(crate) async fn pane(
    api: &Api,
    session: &Session,
    filters: &Filters,
    channels: &[Channel],
    selected: &str,
) -> Result<String, PageError> {
    let page = api
        .conversations()
        .list_conversations(filters.request(&session.operator_id))
        .await?
        .into_inner();
    let mut conversations = page.conversations;
    if filters.view == "unassigned" {
        conversations.retain(|c| c.assignee_id.is_empty() && c.group_id.is_empty());
    }
    let windows = windows(api, &conversations).await;
    let names: HashMap<&str, &str> = channels
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let query = filters.query();
    let rows: String = conversations
        .iter()
        .map(|c| row(c, &names, windows.get(c.id.as_str()), selected, &query))
        .collect();
    let rows = if rows.is_empty() {
        r#"<li class="empty">No conversations here yet. New ones appear as customers write.</li>"#
            .to_owned()
    } else {
        rows
    };
    let more = if page.next_page_token.is_empty() {
        String::new()
    } else {
        format!(
            r#"<a class="more" href="/console/?{query}&page={}">Older conversations</a>"#,
            url_enc(&page.next_page_token)
        )
    };
    Ok(format!(
        r#"<section class="list" aria-label="Conversations">{filters}{notice}<ul class="rows" id="conversation-list" data-live>{rows}</ul>{more}</section>"#,
        filters = filter_bar(filters, channels),
        notice = match selected {
            "" => html::notice(filters.notice.as_deref()),
            _ => String::new(),
        },
    ))
}

async fn windows<'a>(api: &Api, conversations: &'a [Conversation]) -> HashMap<&'a str, Window> {
    let asks = conversations
        .iter()
        .filter(|c| c.status() == ConversationStatus::Open && html::windowed(c.channel_kind()))
        .map(|c| async move {
            let request = GetWindowRequest {
                conversation_id: c.id.clone(),
            };
            let window = api.templates().get_window(request).await.ok()?;
            Some((c.id.as_str(), window.into_inner()))
        });
    join_all(asks).await.into_iter().flatten().collect()
}

fn filter_bar(filters: &Filters, channels: &[Channel]) -> String {
    let tab = |value: &str, label: &str| {
        let current = filters.view == value || (value == "all" && filters.view.is_empty());
        let mut other = filters.clone();
        other.view = value.to_owned();
        format!(
            r#"<a href="/console/?{}"{}>{label}</a>"#,
            other.query(),
            if current {
                r#" aria-current="true""#
            } else {
                ""
            }
        )
    };
    let option = |value: &str, label: &str, current: &str| {
        let selected = if value == current { " selected" } else { "" };
        format!(
            r#"<option value="{}"{selected}>{}</option>"#,
            esc(value),
            esc(label)
        )
    };
    let statuses: String = [
        ("open", "Open"),
        ("closed", "Closed"),
        ("all", "Any status"),
    ]
    .iter()
    .map(|(v, l)| {
        option(
            v,
            l,
            if filters.status.is_empty() {
                "open"
            } else {
                &filters.status
            },
        )
    })
    .collect();
    let channel_options: String = std::iter::once(option("", "All channels", &filters.channel))
        .chain(channels.iter().map(|c| {
            let label = format!("{} · {}", html::kind_name(c.kind()), c.name);
            option(&c.id, &label, &filters.channel)
        }))
        .collect();
    format!(
        r#"<div class="filters"><nav class="tabs" aria-label="Whose conversations">{}{}{}</nav><form method="get" action="/console/" class="filter-form" role="search"><input type="hidden" name="view" value="{}"><label class="sr" for="q">Search by name or phone</label><input id="q" name="q" type="search" placeholder="Search name or phone" value="{}"><label class="sr" for="status">Status</label><select id="status" name="status">{statuses}</select><label class="sr" for="channel">Channel</label><select id="channel" name="channel">{channel_options}</select><button type="submit">Filter</button></form></div>"#,
        tab("mine", "Mine"),
        tab("unassigned", "Unassigned"),
        tab("all", "All"),
        esc(&filters.view),
        esc(&filters.q),
    )
}

fn row(
    c: &Conversation,
    channel_names: &HashMap<&str, &str>,
    window: Option<&Window>,
    selected: &str,
    query: &str,
) -> String {
    let title = if c.title.is_empty() {
        "Customer"
    } else {
        &c.title
    };
    let last = c.last_message.as_ref();
    let preview = last.map_or(String::new(), |m| {
        let text = if m.text.is_empty() && !m.attachments.is_empty() {
            "📎 Attachment".to_owned()
        } else {
            m.text.chars().take(90).collect()
        };
        let you = if m.direction() == Direction::Outbound {
            "You: "
        } else {
            ""
        };
        format!("{you}{}", esc(&text))
    });
    let when = html::time(
        last.and_then(|m| m.created_at.as_ref())
            .or(c.updated_at.as_ref()),
    );
    let holder = match (c.assignee_id.as_str(), c.group_id.as_str()) {
        ("", "") => r#"<span class="holder none">Unassigned</span>"#.to_owned(),
        ("", group) => format!(r#"<span class="holder">Group {}</span>"#, esc(group)),
        (op, _) => format!(r#"<span class="holder">👤 {}</span>"#, esc(op)),
    };
    let unread = match c.unread_count {
        0 => String::new(),
        n => format!(r#"<span class="unread" aria-label="{n} unread">{n}</span>"#),
    };
    let channel = channel_names
        .get(c.channel_id.as_str())
        .copied()
        .unwrap_or("");
    let classes = format!(
        "row{}{}",
        if c.unread_count > 0 {
            " has-unread"
        } else {
            ""
        },
        if c.id == selected { " selected" } else { "" }
    );
    format!(
        r#"<li><a class="{classes}" href="/console/c/{id}?{query}" data-conversation="{id}"><span class="avatar" aria-hidden="true">{initials}</span><span class="row-main"><span class="row-top"><span class="name">{name}</span><span class="when">{when}</span></span><span class="preview">{preview}</span><span class="tags">{badge}<span class="channel">{channel}</span>{status}{holder}{window}{unanswered}</span></span>{unread}</a></li>"#,
        id = esc(&c.id),
        initials = esc(&initials(title)),
        name = esc(title),
        badge = html::kind_badge(c.channel_kind()),
        channel = esc(channel),
        status = html::status_pill(c.status()),
        window = window_tag(c.channel_kind(), window),
        unanswered = unanswered_tag(c),
    )
}

/// The window on a windowed messenger: time left, or "template needed".
pub(crate) fn window_tag(kind: ChannelKind, window: Option<&Window>) -> String {
    match window {
        Some(w) if w.open => {
            let left = html::secs(w.expires_at.as_ref()) - html::now_s();
            format!(r#"<span class="window open" title="24-hour window">⏱ {} left</span>"#, span(left))
        }
        Some(_) if html::windowed(kind) => {
            r#"<span class="window closed" title="outside the 24-hour window">Template needed</span>"#
                .to_owned()
        }
        _ => String::new(),
    }
}

fn unanswered_tag(c: &Conversation) -> String {
    if !c.unanswered || c.status() == ConversationStatus::Closed {
        return String::new();
    }
    let since = c
        .last_message
        .as_ref()
        .filter(|m| m.direction() == Direction::Inbound)
        .and_then(|m| m.created_at.as_ref())
        .or(c.updated_at.as_ref());
    let waiting = html::now_s() - html::secs(since);
    format!(
        r#"<span class="unanswered">Unanswered · {}</span>"#,
        span(waiting)
    )
}

/// One or two initials for the avatar.
pub(crate) fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}
