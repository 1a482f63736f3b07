//! One conversation beside the list: its header and actions, the history
//! with attachments and delivery marks, and the composer.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use omnibus_proto::{
    Attachment, AttachmentKind, AuthorKind, Conversation, ConversationStatus, Direction,
    GetConversationRequest, GetWindowRequest, ListMessagesRequest, MarkReadRequest, Message,
    Window,
};

use super::compose;
use super::list::{self, Filters};
use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc, url_enc};
use crate::session::Session;

/// The most recent messages shown.
const HISTORY: u32 = 500;

/// `GET /console/c/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let mut conversation = api
        .conversations()
        .get_conversation(GetConversationRequest { id: id.clone() })
        .await?
        .into_inner();
    if conversation.unread_count > 0 {
        // Opening a conversation reads it, as in every support desk.
        conversation = api
            .conversations()
            .mark_read(MarkReadRequest { id: id.clone() })
            .await?
            .into_inner();
    }
    let messages = api
        .conversations()
        .list_messages(ListMessagesRequest {
            conversation_id: id.clone(),
            page_size: HISTORY,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .messages;
    let window = match html::windowed(conversation.channel_kind()) {
        true => Some(
            api.templates()
                .get_window(GetWindowRequest {
                    conversation_id: id.clone(),
                })
                .await?
                .into_inner(),
        ),
        false => None,
    };
    let channels = api.all_channels().await?;
    let channel = channels.iter().find(|c| c.id == conversation.channel_id);
    let operators = api.all_operators().await?;
    let pane = list::pane(&api, &session, &filters, &channels, &id).await?;
    let back = format!("/console/c/{}?{}", url_enc(&id), filters.query());
    let composer = compose::composer(&api, &conversation, window.as_ref(), &back).await?;
    let head = header(
        &conversation,
        channel.map_or("", |c| c.name.as_str()),
        window.as_ref(),
    );
    let actions = actions(&conversation, &operators, &back);
    let history = history(&messages);
    let title = if conversation.title.is_empty() {
        "Customer"
    } else {
        &conversation.title
    };
    let body = format!(
        r#"<div class="inbox only-thread">{pane}<section class="thread" aria-label="Conversation with {name}"><a class="back" href="/console/?{query}">← All conversations</a><div id="thread-head" data-live>{head}</div>{actions}{notice}<ol class="messages" id="messages" data-live aria-live="polite">{history}</ol>{composer}</section></div>"#,
        name = esc(title),
        query = filters.query(),
        notice = html::notice(filters.notice.as_deref()),
    );
    Ok(Html(html::page(
        title,
        Nav::Inbox,
        &session.operator_id,
        &body,
    )))
}

fn header(c: &Conversation, channel_name: &str, window: Option<&Window>) -> String {
    let title = if c.title.is_empty() {
        "Customer"
    } else {
        &c.title
    };
    let holder = match (c.assignee_id.as_str(), c.group_id.as_str()) {
        ("", "") => "Unassigned".to_owned(),
        ("", group) => format!("Group {}", esc(group)),
        (op, _) => format!("Assigned to {}", esc(op)),
    };
    let window = match window {
        Some(w) if w.held_messages > 0 => format!(
            r#"{}<span class="window held">{} held</span>"#,
            list::window_tag(c.channel_kind(), Some(w)),
            w.held_messages
        ),
        w => list::window_tag(c.channel_kind(), w),
    };
    format!(
        r#"<header class="thread-head"><span class="avatar big" aria-hidden="true">{initials}</span><div><h1 id="conversation-title">{name}</h1><p class="tags">{badge}<span class="channel">{channel}</span><span id="conversation-status">{status}</span><span class="holder" id="conversation-holder">{holder}</span>{window}{contact}</p></div></header>"#,
        initials = esc(&list::initials(title)),
        name = esc(title),
        badge = html::kind_badge(c.channel_kind()),
        channel = esc(channel_name),
        status = html::status_pill(c.status()),
        contact = contact_link(c),
    )
}

/// The customer's contact page: their other channels and conversations.
fn contact_link(c: &Conversation) -> String {
    match c.contact_id.as_str() {
        "" => String::new(),
        id => format!(
            r#"<a id="conversation-contact" href="/console/contacts/{}">Contact</a>"#,
            url_enc(id)
        ),
    }
}

fn actions(c: &Conversation, operators: &[omnibus_proto::Operator], back: &str) -> String {
    let id = esc(&c.id);
    let back = esc(back);
    let options: String = operators
        .iter()
        .map(|o| format!(r#"<option value="{}">"#, esc(&o.id)))
        .collect();
    let close = match c.status() {
        ConversationStatus::Closed => String::new(),
        _ => format!(
            r#"<form method="post" action="/console/c/{id}/close"><input type="hidden" name="back" value="{back}"><button id="close-conversation">Close</button></form>"#
        ),
    };
    format!(
        r#"<div class="actions" role="group" aria-label="Conversation actions">{close}<form method="post" action="/console/c/{id}/read"><input type="hidden" name="back" value="{back}"><button>Mark read</button></form><form method="post" action="/console/c/{id}/no-reply"><input type="hidden" name="back" value="{back}"><button>No reply needed</button></form><form method="post" action="/console/c/{id}/assign" class="assign"><input type="hidden" name="back" value="{back}"><label class="sr" for="assignee">Assign to operator</label><input id="assignee" name="operator_id" list="operators" placeholder="Operator id" value="{current}"><datalist id="operators">{options}</datalist><label class="sr" for="group">or group</label><input id="group" name="group_id" placeholder="or group" size="8" value="{group}"><button id="assign-conversation">Assign</button></form></div>"#,
        current = esc(&c.assignee_id),
        group = esc(&c.group_id),
    )
}

fn history(messages: &[Message]) -> String {
    if messages.is_empty() {
        return r#"<li class="empty">No messages yet.</li>"#.to_owned();
    }
    messages.iter().map(|m| message(m, messages)).collect()
}

fn message(m: &Message, all: &[Message]) -> String {
    let outbound = m.direction() == Direction::Outbound;
    let (class, author) = match m.author_kind() {
        AuthorKind::ExternalDevice => (
            "out external",
            r#"<span class="author external">Sent from outside Omnibus (phone or messenger app)</span>"#.to_owned(),
        ),
        AuthorKind::Bot => ("out bot", r#"<span class="author">Bot</span>"#.to_owned()),
        AuthorKind::System => ("out system", r#"<span class="author">Automatic</span>"#.to_owned()),
        _ if outbound => {
            let who = if m.operator_id.is_empty() { "Operator" } else { &m.operator_id };
            ("out", format!(r#"<span class="author">{}</span>"#, esc(who)))
        }
        _ => ("in", String::new()),
    };
    let quote = all
        .iter()
        .find(|q| !m.reply_to_message_id.is_empty() && q.id == m.reply_to_message_id)
        .map(|q| {
            format!(
                r##"<a class="quote" href="#m-{}">↩ {}</a>"##,
                esc(&q.id),
                esc(&short(&q.text))
            )
        })
        .unwrap_or_default();
    let template = m
        .template
        .as_ref()
        .filter(|t| !t.name.is_empty())
        .map(|t| {
            format!(
                r#"<span class="template-name">Template {}</span>"#,
                esc(&t.name)
            )
        })
        .unwrap_or_default();
    let attachments: String = m.attachments.iter().map(attachment).collect();
    let text = if m.text.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="text">{}</p>"#, esc(&m.text))
    };
    let status = if outbound {
        html::delivery(m.status(), &m.failure_reason)
    } else {
        String::new()
    };
    let edited = if m.edited {
        r#"<span class="muted">edited</span>"#
    } else {
        ""
    };
    format!(
        r#"<li class="msg {class}" id="m-{id}" data-message="{id}"><div class="bubble">{author}{quote}{template}{attachments}{text}<div class="meta">{time}{edited}{status}</div></div><button type="button" class="reply link" data-reply="{id}" data-quote="{q}">Reply</button></li>"#,
        id = esc(&m.id),
        time = html::time(m.created_at.as_ref()),
        q = esc(&short(&m.text)),
    )
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        s.push('…');
    }
    s
}

fn attachment(a: &Attachment) -> String {
    let name = if a.file_name.is_empty() {
        kind_label(a.kind())
    } else {
        &a.file_name
    };
    match a.kind() {
        AttachmentKind::Location => {
            let Some(l) = &a.location else {
                return String::new();
            };
            let (lat, lon) = (l.latitude, l.longitude);
            let label = [l.title.as_str(), l.address.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                r#"<p class="attachment location">📍 {lat:.5}, {lon:.5} {label} <a href="https://www.openstreetmap.org/?mlat={lat}&amp;mlon={lon}#map=16/{lat}/{lon}" target="_blank" rel="noopener noreferrer">Open map</a></p>"#,
                label = esc(&label)
            )
        }
        AttachmentKind::Contact => {
            let Some(c) = &a.contact else {
                return String::new();
            };
            format!(
                r#"<p class="attachment">👤 {} {}</p>"#,
                esc(&c.name),
                esc(&c.phone)
            )
        }
        AttachmentKind::Image | AttachmentKind::Sticker if !a.url.is_empty() => format!(
            r#"<a class="attachment image" href="{url}" target="_blank" rel="noopener noreferrer"><img src="{url}" alt="{alt}" loading="lazy"></a>"#,
            url = esc(&a.url),
            alt = esc(name)
        ),
        _ if !a.url.is_empty() => format!(
            r#"<p class="attachment"><a href="{}" target="_blank" rel="noopener noreferrer">📎 {}</a></p>"#,
            esc(&a.url),
            esc(name)
        ),
        _ => format!(r#"<p class="attachment">📎 {}</p>"#, esc(name)),
    }
}

fn kind_label(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "Image",
        AttachmentKind::Video | AttachmentKind::VideoNote => "Video",
        AttachmentKind::Audio => "Audio",
        AttachmentKind::Voice => "Voice message",
        AttachmentKind::Document => "File",
        AttachmentKind::Sticker => "Sticker",
        AttachmentKind::Animation => "Animation",
        AttachmentKind::Location => "Location",
        AttachmentKind::Contact => "Contact",
        AttachmentKind::Unspecified => "Attachment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_show_inline_and_other_files_link_through_media() {
        let image = Attachment {
            kind: AttachmentKind::Image as i32,
            url: "/media/msg_1/0".into(),
            ..Default::default()
        };
        let html = attachment(&image);
        assert!(html.contains(r#"<img src="/media/msg_1/0""#), "{html}");
        let document = Attachment {
            kind: AttachmentKind::Document as i32,
            url: "/media/msg_1/1".into(),
            file_name: "invoice.pdf".into(),
            ..Default::default()
        };
        let html = attachment(&document);
        assert!(html.contains(r#"<a href="/media/msg_1/1""#), "{html}");
        assert!(
            html.contains("invoice.pdf") && !html.contains("<img"),
            "{html}"
        );
    }
}
