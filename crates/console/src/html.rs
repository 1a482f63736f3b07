//! HTML building blocks: escaping, the page frame, and how times, channels
//! and statuses read. Pages are plain `format!` strings; everything that
//! comes from the API goes through [`esc`].

use omnibus_proto::{ChannelKind, ConversationStatus, MessageStatus};
use prost_types::Timestamp;

/// Escapes text for an HTML element or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url_enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Which part of the console a page belongs to, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Conversations.
    Inbox,
    /// Contacts: the people behind the conversations.
    Contacts,
    /// Channels and their settings.
    Channels,
    /// Templates.
    Templates,
    /// Outbound webhooks.
    Webhooks,
    /// Operators and the dashboard.
    Operators,
    /// Operator groups, the targets of routing.
    Groups,
}

const NAV: [(Nav, &str, &str); 7] = [
    (Nav::Inbox, "/console/", "Conversations"),
    (Nav::Contacts, "/console/contacts", "Contacts"),
    (Nav::Channels, "/console/channels", "Channels"),
    (Nav::Templates, "/console/templates", "Templates"),
    (Nav::Webhooks, "/console/webhooks", "Webhooks"),
    (Nav::Operators, "/console/operators", "Operators"),
    (Nav::Groups, "/console/groups", "Groups"),
];

/// A console page: navigation, the signed-in operator, and `body`.
pub fn page(title: &str, nav: Nav, operator_id: &str, body: &str) -> String {
    let links: String = NAV
        .iter()
        .map(|(which, href, label)| {
            let current = if *which == nav {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="{href}"{current}>{label}</a>"#)
        })
        .collect();
    let chrome = format!(
        r#"<header class="top"><a class="brand" href="/console/">Omnibus</a><nav aria-label="Sections">{links}</nav><div class="me"><span class="presence-dot" id="presence" title="online while this console is open"></span><span>{op}</span><form method="post" action="/console/logout"><button class="link">Sign out</button></form></div></header><main id="main" data-live-page>{body}</main>"#,
        op = esc(operator_id)
    );
    frame(title, &chrome)
}

/// A page without navigation (sign-in, errors).
pub fn bare_page(title: &str, body: &str) -> String {
    frame(title, &format!(r#"<main class="bare">{body}</main>"#))
}

fn frame(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · Omnibus</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script></head><body>{body}</body></html>"#,
        esc(title)
    )
}

/// Unix seconds of a timestamp (0 when absent).
pub fn secs(ts: Option<&Timestamp>) -> i64 {
    ts.map_or(0, |t| t.seconds)
}

/// A `<time>` the browser shows in the operator's own time zone (UTC until
/// the script runs).
pub fn time(ts: Option<&Timestamp>) -> String {
    let s = secs(ts);
    if s == 0 {
        return String::new();
    }
    let at = jiff::Timestamp::from_second(s).unwrap_or_default();
    format!(
        r#"<time datetime="{}" data-ts="{s}">{}</time>"#,
        at,
        at.strftime("%H:%M")
    )
}

/// "4m", "2h 5m", "3d" for a duration in seconds.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// Seconds now.
pub fn now_s() -> i64 {
    omnibus_core::now_ms() / 1000
}

/// A messenger's name.
pub fn kind_name(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Viber => "Viber",
        ChannelKind::Vk => "VK",
        ChannelKind::Instagram => "Instagram",
        ChannelKind::Wazzup => "Wazzup",
        ChannelKind::Unspecified => "Unknown",
    }
}

/// The messenger's badge (a coloured initial, no external icons).
pub fn kind_badge(kind: ChannelKind) -> String {
    let name = kind_name(kind);
    format!(
        r#"<span class="kind kind-{}" title="{name}" aria-label="{name}">{}</span>"#,
        name.to_lowercase(),
        &name[..1]
    )
}

/// True for messengers with a 24-hour customer-service window.
pub fn windowed(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Whatsapp | ChannelKind::Instagram)
}

/// A conversation's status pill.
pub fn status_pill(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::Closed => r#"<span class="pill closed">Closed</span>"#,
        _ => r#"<span class="pill open">Open</span>"#,
    }
}

/// An outbound message's delivery mark, with words for screen readers.
pub fn delivery(status: MessageStatus, reason: &str) -> String {
    let (class, mark, words) = match status {
        MessageStatus::Pending => ("pending", "◷", "Sending"),
        MessageStatus::Held => ("held", "⏸", "Held"),
        MessageStatus::Sent => ("sent", "✓", "Sent"),
        MessageStatus::Delivered => ("delivered", "✓✓", "Delivered"),
        MessageStatus::Read => ("read", "✓✓", "Read"),
        MessageStatus::Failed => ("failed", "⚠", "Failed"),
        MessageStatus::Unspecified => return String::new(),
    };
    let detail = match status {
        MessageStatus::Held => {
            " — waiting for the customer to answer the template (outside the 24-hour window)"
                .to_owned()
        }
        MessageStatus::Failed if !reason.is_empty() => format!(": {}", esc(reason)),
        _ => String::new(),
    };
    format!(
        r#"<span class="status status-{class}" data-status="{words}"><span aria-hidden="true">{mark}</span> {words}{detail}</span>"#
    )
}

/// A notice line (after an action), from the `notice` query value.
pub fn notice(text: Option<&str>) -> String {
    match text.filter(|t| !t.is_empty()) {
        Some(t) => format!(r#"<p class="notice" role="status">{}</p>"#, esc(t)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_api_cannot_become_markup() {
        assert_eq!(
            esc(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(url_enc("a b&c=ж"), "a%20b%26c%3D%D0%B6");
    }

    #[test]
    fn durations_read_like_a_support_desk() {
        assert_eq!(span(5), "just now");
        assert_eq!(span(4 * 60 + 3), "4m");
        assert_eq!(span(2 * 3600 + 5 * 60), "2h 5m");
        assert_eq!(span(3 * 86400 + 3600), "3d 1h");
    }

    #[test]
    fn delivery_marks_say_why_a_send_failed() {
        let failed = delivery(MessageStatus::Failed, "bot was blocked <by user>");
        assert!(
            failed.contains("Failed: bot was blocked &lt;by user&gt;"),
            "{failed}"
        );
        assert!(delivery(MessageStatus::Held, "").contains("Held"));
    }
}
