//! The window rule and what it means for one outbound message (pure: the
//! time is an argument, so the boundary is tested to the millisecond).
//!
//! A window opens with each customer message, measured from the provider's
//! timestamp, and lasts as long as [`omnibus_core::kind::window`] says for the
//! channel's kind. Inside it anything goes out; outside it only approved
//! templates do. An operator's free text outside it is held behind the
//! channel's default template when there is a usable one; automatic messages
//! (SYSTEM, BOT) are never held, since nobody waits for them.

use omnibus_proto::{AuthorKind, ChannelKind, TemplateRef};

use crate::model::{ChannelRow, ConversationRow, TemplateRow};
use crate::template::{self, Placeholders};

/// A conversation's window at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// How long a window lasts; `None` for channels without one.
    pub length_ms: Option<i64>,
    /// The provider's time of the customer's last message; 0: never.
    pub last_customer_ms: i64,
    /// The provider said the window is closed.
    pub provider_closed: bool,
    /// How long an operator may still answer with Instagram's HUMAN_AGENT
    /// tag (7 days), when the channel's `human_agent_tag` allows it.
    pub human_agent_ms: Option<i64>,
}

/// How long Instagram's HUMAN_AGENT tag lets an operator answer.
pub const HUMAN_AGENT_MS: i64 = 7 * 24 * 3_600_000;

impl WindowState {
    /// The window of `conversation` (absent: the customer never wrote) on a
    /// channel of `kind`.
    pub fn of(kind: ChannelKind, conversation: Option<&ConversationRow>) -> Self {
        let length_ms = omnibus_core::kind::window(kind).map(|d| d.as_millis() as i64);
        Self {
            length_ms,
            last_customer_ms: conversation.map_or(0, |c| c.last_customer_ms),
            provider_closed: conversation.is_some_and(|c| c.provider_closed),
            human_agent_ms: None,
        }
    }

    /// The same window with the HUMAN_AGENT extension when `channel` is an
    /// Instagram channel whose `human_agent_tag` setting is on.
    pub fn with_tag_of(mut self, channel: Option<&ChannelRow>) -> Self {
        let tagged = channel.is_some_and(|c| c.kind == ChannelKind::Instagram && c.human_agent_tag);
        self.human_agent_ms = tagged.then_some(HUMAN_AGENT_MS);
        self
    }

    /// When an operator's tagged answer stops being allowed; `None` without
    /// the tag or a customer message.
    pub fn human_agent_expires_at_ms(&self) -> Option<i64> {
        let length = self.human_agent_ms?;
        (self.windowed() && self.last_customer_ms > 0)
            .then(|| self.last_customer_ms.saturating_add(length))
    }

    /// True when the window is closed but an operator may still answer
    /// with the HUMAN_AGENT tag: until 7 days after the customer's last
    /// message, unless the provider refused a send as outside the window
    /// since (a tagged one included).
    pub fn human_agent_open(&self, now_ms: i64) -> bool {
        !self.is_open(now_ms)
            && !self.provider_closed
            && self
                .human_agent_expires_at_ms()
                .is_some_and(|expires| now_ms < expires)
    }

    /// True for channels with a window.
    pub fn windowed(&self) -> bool {
        self.length_ms.is_some()
    }

    /// When the window closes (or closed); `None` without a window or a
    /// customer message.
    pub fn expires_at_ms(&self) -> Option<i64> {
        let length = self.length_ms?;
        (self.last_customer_ms > 0).then(|| self.last_customer_ms.saturating_add(length))
    }

    /// True while free text may go out: always on channels without a
    /// window; otherwise until exactly `length` after the customer's last
    /// message, unless the provider said otherwise.
    pub fn is_open(&self, now_ms: i64) -> bool {
        if !self.windowed() {
            return true;
        }
        if self.provider_closed {
            return false;
        }
        self.expires_at_ms().is_some_and(|expires| now_ms < expires)
    }
}

/// The channel's default template, as far as it can reopen a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultTemplate {
    /// The channel names none.
    Unset,
    /// It names one that cannot be sent; the reason says why.
    Unusable(String),
    /// Approved and without parameters.
    Usable(TemplateRow),
}

impl DefaultTemplate {
    /// Looks the channel's default template up among its `templates`.
    pub fn of(channel: Option<&ChannelRow>, templates: &[TemplateRow]) -> Self {
        let name = channel
            .map(|c| c.default_template.trim())
            .unwrap_or_default();
        if name.is_empty() {
            return Self::Unset;
        }
        let named: Vec<&TemplateRow> = templates.iter().filter(|t| t.name == name).collect();
        if named.is_empty() {
            return Self::Unusable(format!(
                "the channel's default_template {name:?} does not exist; upsert or sync it"
            ));
        }
        let Some(approved) = named.iter().find(|t| t.approved()) else {
            return Self::Unusable(format!(
                "the channel's default_template {name:?} is not approved ({})",
                status_name(named[0])
            ));
        };
        match Placeholders::parse(&approved.body) {
            Ok(p) if p.is_empty() => Self::Usable((*approved).clone()),
            _ => Self::Unusable(format!(
                "the channel's default_template {name:?} has parameters; a default template \
                 must have none"
            )),
        }
    }
}

/// What may happen to one outbound message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The window is open: send as it is.
    Open,
    /// An approved template with the right values: allowed at any time.
    Template {
        /// The reference with its language filled in.
        template: TemplateRef,
        /// The body with the values filled in.
        rendered: String,
    },
    /// The window is closed, but an operator's free text goes out with the
    /// HUMAN_AGENT tag (Instagram, within 7 days).
    HumanAgent,
    /// Hold the message; `default` reopens the window.
    Hold {
        /// The default template to send.
        default: TemplateRow,
    },
    /// The window is closed and nothing can reopen it.
    Refused(String),
    /// The template is unknown, not approved, or its values are wrong.
    Invalid(String),
}

/// Everything one decision looks at.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub window: WindowState,
    pub author: AuthorKind,
    pub template: Option<&'a TemplateRef>,
    /// The channel's templates.
    pub templates: &'a [TemplateRow],
    pub default_template: DefaultTemplate,
}

/// Decides what may happen to a message at `now_ms`.
pub fn decide(situation: &Situation<'_>, now_ms: i64) -> Decision {
    if let Some(reference) = situation.template {
        return match resolve(situation.templates, reference) {
            Ok((template, rendered)) => Decision::Template { template, rendered },
            Err(problem) => Decision::Invalid(problem),
        };
    }
    let window = &situation.window;
    if window.is_open(now_ms) {
        return Decision::Open;
    }
    let automatic = matches!(situation.author, AuthorKind::System | AuthorKind::Bot);
    if !automatic && window.human_agent_open(now_ms) {
        return Decision::HumanAgent;
    }
    let closed = closed_words(window, now_ms);
    if automatic {
        return Decision::Refused(format!(
            "{closed}; automatic messages are not held outside the window"
        ));
    }
    match &situation.default_template {
        DefaultTemplate::Usable(default) => Decision::Hold {
            default: default.clone(),
        },
        DefaultTemplate::Unset => Decision::Refused(format!(
            "{closed}; send an approved template, or set a default_template on the channel \
             to hold free text until the customer answers"
        )),
        DefaultTemplate::Unusable(why) => {
            Decision::Refused(format!("{closed}; send an approved template ({why})"))
        }
    }
}

/// Finds the approved template `reference` names and fills it in.
pub fn resolve(
    templates: &[TemplateRow],
    reference: &TemplateRef,
) -> Result<(TemplateRef, String), String> {
    let name = reference.name.trim();
    if name.is_empty() {
        return Err("template.name is empty; name an approved template".into());
    }
    let template = pick(templates, name, reference.language.trim())?;
    if !template.approved() {
        return Err(format!(
            "template {} is not approved ({}); only approved templates are sent",
            template.label(),
            status_name(template)
        ));
    }
    let rendered = template::render(&template.body, reference, &template.label())?;
    let resolved = TemplateRef {
        language: template.language.clone(),
        ..reference.clone()
    };
    Ok((resolved, rendered))
}

/// The template by name and language; without a language, the one approved
/// language (or the only one).
fn pick<'a>(
    templates: &'a [TemplateRow],
    name: &str,
    language: &str,
) -> Result<&'a TemplateRow, String> {
    let named: Vec<&TemplateRow> = templates.iter().filter(|t| t.name == name).collect();
    if named.is_empty() {
        return Err(format!(
            "template {name:?} does not exist on this channel; list them with `omnictl templates list`"
        ));
    }
    let languages = || {
        named
            .iter()
            .map(|t| t.language.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !language.is_empty() {
        return named
            .iter()
            .find(|t| t.language == language)
            .copied()
            .ok_or_else(|| {
                format!(
                    "template {name:?} has no {language} translation; it exists in {}",
                    languages()
                )
            });
    }
    let approved: Vec<&&TemplateRow> = named.iter().filter(|t| t.approved()).collect();
    match (approved.as_slice(), named.as_slice()) {
        ([only], _) => Ok(only),
        ([], [only]) => Ok(only),
        _ => Err(format!(
            "template {name:?} exists in {}; set template.language",
            languages()
        )),
    }
}

/// "the 24-hour window closed at …" in words.
pub fn closed_words(window: &WindowState, now_ms: i64) -> String {
    let hours = window.length_ms.unwrap_or(0) / 3_600_000;
    if window.provider_closed {
        return format!(
            "the provider says the {hours}-hour window is closed (the customer has not \
             written since)"
        );
    }
    match window.expires_at_ms() {
        Some(expires) if expires <= now_ms => format!(
            "the {hours}-hour window closed at {} ({} ago; the customer last wrote at {})",
            rfc3339(expires),
            ago(now_ms - expires),
            rfc3339(window.last_customer_ms)
        ),
        _ => format!("the customer has not written yet, so the {hours}-hour window is not open"),
    }
}

/// Unix ms as RFC 3339 in UTC, to the second.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_second(ms.div_euclid(1000))
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A duration in the largest whole unit: "3 days", "5 hours", "12 minutes".
pub fn ago(ms: i64) -> String {
    let seconds = (ms / 1000).max(0);
    let (n, unit) = match seconds {
        s if s >= 86_400 => (s / 86_400, "day"),
        s if s >= 3_600 => (s / 3_600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn status_name(template: &TemplateRow) -> &'static str {
    template
        .status
        .as_str_name()
        .strip_prefix("TEMPLATE_STATUS_")
        .unwrap_or("UNSPECIFIED")
}

#[cfg(test)]
mod tests;
