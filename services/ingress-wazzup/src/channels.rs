//! Wazzup's own channel list (`GET /v3/channels`), shown by
//! `ListProviderChannels` for the operator to pick from: each picked
//! Wazzup channel becomes its own Omnibus channel.

use omnibus_proto::ProviderChannel;
use serde_json::Value;

/// The channels of a `GET /v3/channels` answer; elements of other shapes
/// are left out.
pub fn parse_channels(answer: &Value) -> Vec<ProviderChannel> {
    let list = answer
        .as_array()
        .or_else(|| answer["data"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    list.iter().filter_map(channel).collect()
}

fn channel(value: &Value) -> Option<ProviderChannel> {
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let channel_id = text("channelId");
    if channel_id.is_empty() {
        return None;
    }
    let transport = text("transport");
    let number = text("plainId");
    let name = format!("{transport} {number}").trim().to_owned();
    Some(ProviderChannel {
        channel_id,
        transport,
        number,
        state: text("state"),
        name,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_channel_list_shows_transport_and_number() {
        let answer = json!([
            { "channelId": "f207", "transport": "whatsapp", "plainId": "79990001122", "state": "active" },
            { "channelId": "5e3b", "transport": "instagram", "plainId": "acme.support", "state": "disabled" },
            { "transport": "telegram" },
            "junk"
        ]);
        let channels = parse_channels(&answer);
        assert_eq!(channels.len(), 2);
        assert_eq!(channels[0].name, "whatsapp 79990001122");
        assert_eq!(channels[1].state, "disabled");
        assert!(parse_channels(&json!({ "error": "unauthorized" })).is_empty());
    }
}
