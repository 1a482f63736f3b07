//! Where a business may write first, per messenger. A new messenger adds
//! one arm to [`first_contact`]; the rest of StartConversation follows.

use omnibus_proto::ChannelKind;

/// How a messenger lets a business open a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstContact {
    /// To any phone number with an approved template; free text only inside
    /// the 24-hour window (WhatsApp, WhatsApp through an aggregator).
    AnyPhone,
    /// Only to someone who has written to this bot or community before
    /// (Telegram, Viber, VK).
    WroteBefore,
    /// Only inside the 24-hour window after the customer's last message
    /// (Instagram).
    InsideWindow,
    /// Not at all.
    Never,
}

/// The rule of `kind`.
pub(crate) fn first_contact(kind: ChannelKind) -> FirstContact {
    match kind {
        ChannelKind::Whatsapp | ChannelKind::Wazzup => FirstContact::AnyPhone,
        ChannelKind::Telegram | ChannelKind::Viber | ChannelKind::Vk => FirstContact::WroteBefore,
        ChannelKind::Instagram => FirstContact::InsideWindow,
        ChannelKind::Unspecified => FirstContact::Never,
    }
}

/// The provider chat id of a phone on an `AnyPhone` messenger: the digits
/// of the E.164 number (WhatsApp's `wa_id`).
pub(crate) fn chat_id_of_phone(e164: &str) -> String {
    e164.trim_start_matches('+').to_owned()
}

/// Why a person without a chat on this channel cannot be written to.
pub(crate) fn refusal(kind: ChannelKind, who: &str) -> String {
    let messenger = omnibus_core::kind::messenger(kind);
    match first_contact(kind) {
        FirstContact::AnyPhone => format!(
            "{who} has no phone number to reach on {messenger}; give `phone` or add one to the contact"
        ),
        FirstContact::WroteBefore => format!(
            "{messenger} lets a business write only to people who wrote to this bot or community \
             before, and {who} has not"
        ),
        FirstContact::InsideWindow => format!(
            "{messenger} lets a business write only within 24 hours of the customer's last \
             message, and {who} has never written to this account"
        ),
        FirstContact::Never => format!("a business cannot start conversations on {messenger}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_messenger_has_its_rule() {
        assert_eq!(first_contact(ChannelKind::Whatsapp), FirstContact::AnyPhone);
        assert_eq!(first_contact(ChannelKind::Wazzup), FirstContact::AnyPhone);
        for kind in [ChannelKind::Telegram, ChannelKind::Viber, ChannelKind::Vk] {
            assert_eq!(first_contact(kind), FirstContact::WroteBefore);
        }
        assert_eq!(
            first_contact(ChannelKind::Instagram),
            FirstContact::InsideWindow
        );
        assert_eq!(chat_id_of_phone("+79123456789"), "79123456789");
        assert!(refusal(ChannelKind::Telegram, "Ivan").contains("wrote to this bot"));
    }
}
