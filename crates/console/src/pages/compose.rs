//! The composer: free text with reply-to, and outside the 24-hour window the
//! channel's approved templates with a form for their parameters.

use omnibus_proto::{
    Conversation, ConversationStatus, ListTemplatesRequest, Template, TemplateStatus, Window,
};

use crate::api::Api;
use crate::error::PageError;
use crate::html::esc;

/// The composer of conversation `c` (`back`: where actions return to).
pub(crate) async fn composer(
    api: &Api,
    c: &Conversation,
    window: Option<&Window>,
    back: &str,
) -> Result<String, PageError> {
    let closed_window = window.is_some_and(|w| w.windowed && !w.open);
    let templates = match closed_window {
        true => {
            api.templates()
                .list_templates(ListTemplatesRequest {
                    channel_id: c.channel_id.clone(),
                    status: TemplateStatus::Approved as i32,
                })
                .await?
                .into_inner()
                .templates
        }
        false => Vec::new(),
    };
    let mut out = String::new();
    if c.status() == ConversationStatus::Closed {
        out.push_str(r#"<p class="hint">This conversation is closed. A reply goes to the customer; their next message reopens it.</p>"#);
    }
    if closed_window {
        out.push_str(&templates_panel(c, &templates, back));
    }
    out.push_str(&text_form(c, back, closed_window));
    Ok(format!(r#"<div class="compose">{out}</div>"#))
}

fn templates_panel(c: &Conversation, templates: &[Template], back: &str) -> String {
    let list: String = templates
        .iter()
        .map(|t| template_form(c, t, back))
        .collect();
    let list = if list.is_empty() {
        r#"<p class="muted">This channel has no approved templates. Sync them on the Templates page.</p>"#.to_owned()
    } else {
        list
    };
    format!(
        r#"<section class="window-closed" id="templates" aria-label="Templates"><h2>Template needed</h2><p>The customer last wrote more than 24 hours ago. WhatsApp only delivers an approved template now; free text is held until the customer answers it.</p>{list}</section>"#
    )
}

fn template_form(c: &Conversation, t: &Template, back: &str) -> String {
    let fields: String = t
        .parameters
        .iter()
        .map(|p| {
            let id = format!("tp-{}-{}", t.name, p);
            format!(
                r#"<label for="{id}">{{{{{p}}}}}</label><input id="{id}" name="p_{p}" required>"#,
                id = esc(&id),
                p = esc(p)
            )
        })
        .collect();
    format!(
        r#"<details class="template" data-template="{name}"><summary><strong>{name}</strong> <span class="muted">{language} · {category}</span></summary><p class="template-body">{body}</p><form method="post" action="/console/c/{id}/template"><input type="hidden" name="back" value="{back}"><input type="hidden" name="name" value="{name}"><input type="hidden" name="language" value="{language}"><input type="hidden" name="idempotency_key" value="{key}">{fields}<button class="primary">Send template</button></form></details>"#,
        name = esc(&t.name),
        language = esc(&t.language),
        category = esc(&t.category.to_lowercase()),
        body = esc(&t.body),
        id = esc(&c.id),
        back = esc(back),
        key = idempotency_key(),
    )
}

fn text_form(c: &Conversation, back: &str, closed_window: bool) -> String {
    let placeholder = if closed_window {
        "Write a reply — it is held until the customer answers the template"
    } else {
        "Write a reply… (Ctrl+Enter sends)"
    };
    format!(
        r#"<form method="post" action="/console/c/{id}/send" class="composer" id="composer"><input type="hidden" name="back" value="{back}"><input type="hidden" name="idempotency_key" value="{key}"><input type="hidden" name="reply_to" id="reply-to"><p class="replying" id="replying" hidden><span></span> <button type="button" class="link" id="cancel-reply">Cancel reply</button></p><label class="sr" for="composer-text">Reply</label><textarea id="composer-text" name="text" rows="2" required placeholder="{placeholder}"></textarea><button class="primary" id="send" type="submit">Send</button></form>"#,
        id = esc(&c.id),
        back = esc(back),
        key = idempotency_key(),
    )
}

/// A fresh key per rendered form: a double submit sends once.
fn idempotency_key() -> String {
    let bytes: [u8; 16] = rand::random();
    format!(
        "console-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}
