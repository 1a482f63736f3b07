//! Human output: aligned tables for lists, `key: value` blocks for single
//! objects, and the switch between them and `--json`.

use std::io::{self, Write};

use omnibus_proto::{Channel, ChannelSettings, Contact, Conversation, Message};
use serde_json::Value;

use crate::json;

/// Where a command writes its result, human-readable or as JSON.
pub struct Output<'a> {
    json: bool,
    out: &'a mut (dyn Write + Send),
}

impl<'a> Output<'a> {
    /// Writes to `out`, as one JSON document per command when `json` is set.
    pub fn new(json: bool, out: &'a mut (dyn Write + Send)) -> Self {
        Self { json, out }
    }

    /// Tells whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes the JSON document or the human text, whichever was asked for.
    pub fn emit(
        &mut self,
        json: impl FnOnce() -> Value,
        human: impl FnOnce() -> String,
    ) -> io::Result<()> {
        if self.json {
            let text = serde_json::to_string_pretty(&json()).map_err(io::Error::other)?;
            writeln!(self.out, "{text}")
        } else {
            let text = human();
            write!(self.out, "{text}")?;
            if !text.is_empty() && !text.ends_with('\n') {
                writeln!(self.out)?;
            }
            Ok(())
        }
    }

    /// Writes `value` as pretty JSON whatever was asked for (answers that
    /// have no human layout, like `call`'s).
    pub fn emit_json(&mut self, value: &Value) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        writeln!(self.out, "{text}")
    }

    /// Like [`Output::emit`], but JSON goes on one line, so a stream of
    /// objects (`watch --json`) reads as JSON Lines.
    pub fn emit_line(
        &mut self,
        json: impl FnOnce() -> Value,
        human: impl FnOnce() -> String,
    ) -> io::Result<()> {
        if self.json {
            let text = serde_json::to_string(&json()).map_err(io::Error::other)?;
            writeln!(self.out, "{text}")?;
            self.out.flush()
        } else {
            self.emit(|| Value::Null, human)?;
            self.out.flush()
        }
    }
}

// === layout helpers ===

/// Lays out rows under upper-case headers, columns separated by two spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header_cells: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Lays out `key: value` lines with the values aligned.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut text = String::new();
    for (key, value) in pairs {
        let label = format!("{key}:");
        text.push_str(format!("{label:<width$} {value}").trim_end());
        text.push('\n');
    }
    text
}

/// Shortens text to one line of at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut short: String = flat.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Shows "-" for an empty value.
fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

fn time(ts: Option<&prost_types::Timestamp>) -> String {
    json::rfc3339(ts).unwrap_or_else(|| "-".to_owned())
}

/// A line telling how to fetch the next page, or nothing on the last page.
pub fn next_page_hint(next_page_token: &str) -> String {
    if next_page_token.is_empty() {
        String::new()
    } else {
        format!("(more: --page-token {next_page_token}, or --all)\n")
    }
}

// === channels ===

/// A table of channels.
pub fn channel_table(channels: &[Channel]) -> String {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                json::channel_kind(c.kind),
                or_dash(&c.name),
                json::channel_status(c.status),
                or_dash(&c.webhook_path),
                time(c.created_at.as_ref()),
            ]
        })
        .collect();
    table(
        &["ID", "KIND", "NAME", "STATUS", "WEBHOOK", "CREATED"],
        &rows,
    )
}

/// A `key: value` block of one channel with its settings.
pub fn channel_block(c: &Channel) -> String {
    let mut pairs = vec![
        ("id", c.id.clone()),
        ("kind", json::channel_kind(c.kind)),
        ("name", or_dash(&c.name)),
        ("status", json::channel_status(c.status)),
    ];
    if !c.status_reason.is_empty() {
        pairs.push(("status_reason", c.status_reason.clone()));
    }
    pairs.extend([
        ("webhook_path", or_dash(&c.webhook_path)),
        ("api_base_url", or_dash(&c.api_base_url)),
        ("credential_keys", or_dash(&c.credential_keys.join(", "))),
        ("created_at", time(c.created_at.as_ref())),
        ("updated_at", time(c.updated_at.as_ref())),
    ]);
    let settings = c.settings.clone().unwrap_or_default();
    pairs.extend(settings_pairs(&settings));
    kv(&pairs)
}

fn settings_pairs(s: &ChannelSettings) -> Vec<(&'static str, String)> {
    let inactivity = s
        .inactivity_close_seconds
        .map_or_else(|| "600 (default)".to_owned(), |n| format!("{n}s"));
    let unanswered = match s.unanswered_after_seconds {
        Some(n) if n > 0 => format!("{n}s"),
        _ => "off".to_owned(),
    };
    let schedule = s.schedule.as_ref().map_or_else(
        || "always open".to_owned(),
        |sch| {
            let days: Vec<String> = sch
                .weekly
                .iter()
                .map(|w| format!("{}:{}-{}", w.weekday, w.open, w.close))
                .collect();
            format!("{} {}", sch.timezone, days.join(" "))
        },
    );
    vec![
        ("inactivity_close", inactivity),
        ("closing_message", or_dash(&s.closing_message)),
        ("off_hours_message", or_dash(&s.off_hours_message)),
        ("default_template", or_dash(&s.default_template)),
        ("unanswered_after", unanswered),
        ("auto_replies", s.auto_replies.len().to_string()),
        ("schedule", schedule),
        (
            "routing",
            s.routing.as_ref().map_or_else(|| "-".to_owned(), routing),
        ),
    ]
}

/// `group support`, `bot faq (60s) then operator op-ann`, ...
fn routing(r: &omnibus_proto::Routing) -> String {
    let target = |operator: &str, group: &str| match (operator, group) {
        ("", "") => String::new(),
        ("", group) => format!("group {group}"),
        (operator, _) => format!("operator {operator}"),
    };
    if r.bot_id.is_empty() {
        return target(&r.operator_id, &r.group_id);
    }
    let seconds = r.bot_timeout_seconds.unwrap_or(60);
    let fallback = target(&r.fallback_operator_id, &r.fallback_group_id);
    if fallback.is_empty() {
        format!("bot {} ({seconds}s)", r.bot_id)
    } else {
        format!("bot {} ({seconds}s) then {fallback}", r.bot_id)
    }
}

// === conversations ===

/// A table of conversations.
pub fn conversation_table(conversations: &[Conversation]) -> String {
    let rows: Vec<Vec<String>> = conversations
        .iter()
        .map(|c| {
            let last = c
                .last_message
                .as_ref()
                .map_or_else(String::new, message_summary);
            vec![
                c.id.clone(),
                json::channel_kind(c.channel_kind),
                json::conversation_status(c.status),
                one_line(&or_dash(&c.title), 24),
                or_dash(&c.assignee_id),
                c.unread_count.to_string(),
                if c.unanswered { "yes" } else { "" }.to_owned(),
                time(c.updated_at.as_ref()),
                one_line(&last, 40),
            ]
        })
        .collect();
    let headers = [
        "ID",
        "KIND",
        "STATUS",
        "TITLE",
        "ASSIGNEE",
        "UNREAD",
        "WAITING",
        "UPDATED",
        "LAST MESSAGE",
    ];
    table(&headers, &rows)
}

/// A `key: value` block of one conversation.
pub fn conversation_block(c: &Conversation) -> String {
    let mut pairs = vec![
        ("id", c.id.clone()),
        ("title", or_dash(&c.title)),
        ("status", json::conversation_status(c.status)),
    ];
    if c.close_reason != 0 {
        pairs.push(("close_reason", json::close_reason(c.close_reason)));
    }
    pairs.extend([
        (
            "channel",
            format!("{} ({})", c.channel_id, json::channel_kind(c.channel_kind)),
        ),
        ("contact_id", or_dash(&c.contact_id)),
        ("assignee_id", or_dash(&c.assignee_id)),
        ("group_id", or_dash(&c.group_id)),
        ("unread_count", c.unread_count.to_string()),
        ("unanswered", c.unanswered.to_string()),
        ("created_at", time(c.created_at.as_ref())),
        ("updated_at", time(c.updated_at.as_ref())),
    ]);
    if let Some(last) = &c.last_message {
        pairs.push(("last_message", one_line(&message_summary(last), 60)));
    }
    kv(&pairs)
}

// === messages ===

/// The text of a message, with its attachments named when there are any.
pub fn message_summary(m: &Message) -> String {
    let kinds: Vec<String> = m
        .attachments
        .iter()
        .map(|a| format!("[{}]", json::attachment_kind(a.kind).to_lowercase()))
        .collect();
    match (m.text.is_empty(), kinds.is_empty()) {
        (_, true) => m.text.clone(),
        (true, false) => kinds.join(" "),
        (false, false) => format!("{} {}", kinds.join(" "), m.text),
    }
}

/// A table of messages.
pub fn message_table(messages: &[Message]) -> String {
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m| {
            let author = if m.author_name.is_empty() {
                json::author_kind(m.author_kind)
            } else {
                format!("{} ({})", m.author_name, json::author_kind(m.author_kind))
            };
            vec![
                m.id.clone(),
                time(m.created_at.as_ref()),
                json::direction(m.direction),
                one_line(&author, 28),
                json::message_status(m.status),
                one_line(&message_summary(m), 60),
            ]
        })
        .collect();
    table(
        &["ID", "CREATED", "DIRECTION", "AUTHOR", "STATUS", "TEXT"],
        &rows,
    )
}

/// A `key: value` block of one message.
pub fn message_block(m: &Message) -> String {
    let mut pairs = vec![
        ("id", m.id.clone()),
        ("conversation_id", m.conversation_id.clone()),
        ("direction", json::direction(m.direction)),
        ("author_kind", json::author_kind(m.author_kind)),
        ("status", json::message_status(m.status)),
    ];
    if !m.failure_reason.is_empty() {
        pairs.push(("failure_reason", m.failure_reason.clone()));
    }
    pairs.extend([
        ("text", one_line(&or_dash(&m.text), 200)),
        ("provider_message_id", or_dash(&m.provider_message_id)),
        ("created_at", time(m.created_at.as_ref())),
    ]);
    if !m.reply_to_message_id.is_empty() {
        pairs.push(("reply_to", m.reply_to_message_id.clone()));
    }
    for a in &m.attachments {
        let target = if a.url.is_empty() {
            &a.provider_file_id
        } else {
            &a.url
        };
        pairs.push((
            "attachment",
            format!("{} {target}", json::attachment_kind(a.kind)),
        ));
    }
    kv(&pairs)
}

// === contacts ===

/// A table of contacts.
pub fn contact_table(contacts: &[Contact]) -> String {
    let rows: Vec<Vec<String>> = contacts
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                one_line(&or_dash(&c.display_name), 28),
                or_dash(&c.phones.join(", ")),
                c.identities.len().to_string(),
                time(c.created_at.as_ref()),
            ]
        })
        .collect();
    table(&["ID", "NAME", "PHONES", "IDENTITIES", "CREATED"], &rows)
}

/// A `key: value` block of one contact.
pub fn contact_block(c: &Contact) -> String {
    let mut pairs = vec![
        ("id", c.id.clone()),
        ("display_name", or_dash(&c.display_name)),
        ("phones", or_dash(&c.phones.join(", "))),
        ("emails", or_dash(&c.emails.join(", "))),
        ("is_group", c.is_group.to_string()),
        ("created_at", time(c.created_at.as_ref())),
        ("updated_at", time(c.updated_at.as_ref())),
    ];
    for i in &c.identities {
        let handle = [
            i.username.as_str(),
            i.phone.as_str(),
            i.provider_user_id.as_str(),
        ]
        .into_iter()
        .find(|v| !v.is_empty())
        .unwrap_or("-");
        pairs.push(("identity", format!("{} {} {handle}", i.channel_id, i.id)));
    }
    kv(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_trailing_space() {
        let rows = vec![
            vec![
                "ch_1".to_owned(),
                "TELEGRAM".to_owned(),
                "Support".to_owned(),
            ],
            vec!["ch_22".to_owned(), "VK".to_owned(), String::new()],
        ];
        let text = table(&["ID", "KIND", "NAME"], &rows);
        assert_eq!(
            text,
            "ID     KIND      NAME\nch_1   TELEGRAM  Support\nch_22  VK\n"
        );
    }

    #[test]
    fn kv_aligns_values() {
        let text = kv(&[("id", "c1".to_owned()), ("status", "OPEN".to_owned())]);
        assert_eq!(text, "id:     c1\nstatus: OPEN\n");
    }

    #[test]
    fn one_line_flattens_and_truncates() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("Здравствуйте", 6), "Здрав…");
    }

    #[test]
    fn json_output_is_one_document_and_human_ends_with_newline() {
        let mut buf = Vec::new();
        Output::new(true, &mut buf)
            .emit(|| serde_json::json!({"a": 1}), || unreachable!())
            .unwrap();
        let doc: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(doc["a"], 1);

        let mut buf = Vec::new();
        Output::new(false, &mut buf)
            .emit(|| unreachable!(), || "x".to_owned())
            .unwrap();
        assert_eq!(buf, b"x\n");
    }
}
