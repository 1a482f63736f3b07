//! Channel kinds by the names users type and the path segments of webhooks.

use omnibus_proto::ChannelKind;

/// The lowercase messenger name used in webhook paths and subjects.
pub fn messenger(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Telegram => "telegram",
        ChannelKind::Whatsapp => "whatsapp",
        ChannelKind::Viber => "viber",
        ChannelKind::Vk => "vk",
        ChannelKind::Instagram => "instagram",
        ChannelKind::Wazzup => "wazzup",
        ChannelKind::Unspecified => "unspecified",
    }
}

/// How long after the customer's last message free-form messages are allowed,
/// for channels that have such a window (WhatsApp and Instagram: 24 hours).
/// Outside it only approved templates may be sent.
pub fn window(kind: ChannelKind) -> Option<std::time::Duration> {
    match kind {
        ChannelKind::Whatsapp | ChannelKind::Instagram => {
            Some(std::time::Duration::from_secs(24 * 60 * 60))
        }
        _ => None,
    }
}

/// Parses `telegram`, `TELEGRAM` or `CHANNEL_KIND_TELEGRAM`.
pub fn parse(name: &str) -> Option<ChannelKind> {
    let upper = name.trim().to_ascii_uppercase();
    let short = upper.strip_prefix("CHANNEL_KIND_").unwrap_or(&upper);
    ChannelKind::from_str_name(&format!("CHANNEL_KIND_{short}"))
        .filter(|k| *k != ChannelKind::Unspecified)
}

/// The webhook path of a channel, e.g. `/webhooks/telegram/ch_…`.
pub fn webhook_path(kind: ChannelKind, channel_id: &str) -> String {
    format!("/webhooks/{}/{channel_id}", messenger(kind))
}

/// True for attachments that are a file (`GET /media` serves them), false
/// for locations and contact cards, which have none.
pub fn has_file(attachment: &omnibus_proto::Attachment) -> bool {
    use omnibus_proto::AttachmentKind;
    !matches!(
        AttachmentKind::try_from(attachment.kind),
        Ok(AttachmentKind::Location | AttachmentKind::Contact)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!(parse("telegram"), Some(ChannelKind::Telegram));
        assert_eq!(parse("WHATSAPP"), Some(ChannelKind::Whatsapp));
        assert_eq!(parse("CHANNEL_KIND_VK"), Some(ChannelKind::Vk));
        assert_eq!(parse("unspecified"), None);
        assert_eq!(parse("icq"), None);
    }
}
