//! The links of the posts comments are under. A `comments` webhook names
//! only the post's media id; the link (`permalink`) is one Graph call away
//! (`GET /<media id>?fields=permalink`).
//!
//! Why after storing rather than before: Meta wants the webhook answered
//! fast and retries (then disables) slow endpoints, and a Graph call may take
//! up to the provider timeout. So a known link (cached per media id, as
//! every later comment on the post finds it) goes into the comment's event
//! at once; an unknown one is looked up after the comment is stored and the
//! 200 is on its way, and a `ConversationSubject` event sets the
//! conversation's `subject_url` then. A crash in between loses only the
//! link, which the thread's next comment looks up again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use omnibus_ingress::Context;
use omnibus_ingress::webhook::store_inbound;
use omnibus_proto::{ChannelState, ConversationSubject, Event, event::Payload};

use crate::normalize::{Permalinks, parse_comment_chat_id};
use crate::{GRAPH_VERSION, Instagram};

/// Links remembered at most; the cache starts over when full.
const REMEMBERED: usize = 10_000;
/// The longest link accepted from Graph.
const MAX_LINK: usize = 2048;

/// Post links by media id, shared by the webhook handlers of one process.
#[derive(Debug, Clone, Default)]
pub struct PermalinkCache {
    links: Arc<Mutex<HashMap<String, String>>>,
}

impl PermalinkCache {
    /// The cached links of `media_ids` (those known).
    pub fn known(&self, media_ids: &[String]) -> Permalinks {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        media_ids
            .iter()
            .filter_map(|id| links.get(id).map(|link| (id.clone(), link.clone())))
            .collect()
    }

    fn get(&self, media_id: &str) -> Option<String> {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.get(media_id).cloned()
    }

    fn put(&self, media_id: &str, link: &str) {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        if links.len() >= REMEMBERED {
            links.clear();
        }
        links.insert(media_id.to_owned(), link.to_owned());
    }
}

/// The comment conversations among `events` still without a link, by the
/// media id of their post.
pub fn missing(events: &[Event]) -> BTreeMap<String, Vec<String>> {
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        let Some(Payload::MessageReceived(received)) = &event.payload else {
            continue;
        };
        let Some(peer) = &received.peer else {
            continue;
        };
        let Some((media, _user)) = parse_comment_chat_id(&peer.provider_chat_id) else {
            continue;
        };
        if !peer.subject_url.is_empty() {
            continue;
        }
        let conversations = wanted.entry(media.to_owned()).or_default();
        if !conversations.contains(&event.conversation_id) {
            conversations.push(event.conversation_id.clone());
        }
    }
    wanted
}

/// Looks up the links `events` lack and stores one `ConversationSubject`
/// per conversation. Failures are logged: the next comment tries again.
pub async fn follow_up(
    instagram: &Instagram,
    context: &Context,
    channel: &ChannelState,
    events: Vec<Event>,
) {
    for (media_id, conversations) in missing(&events) {
        let link = match instagram.permalinks.get(&media_id) {
            Some(link) => link,
            None => match lookup(instagram, context, channel, &media_id).await {
                Some(link) => {
                    instagram.permalinks.put(&media_id, &link);
                    link
                }
                None => continue,
            },
        };
        for conversation_id in conversations {
            let event = subject_event(&channel.id, &conversation_id, &link);
            if let Err(err) = store_inbound(&context.bus, "instagram", event).await {
                tracing::warn!(error = %err, %conversation_id, "cannot store a post link");
            }
        }
    }
}

/// The event that sets a comment conversation's link; one per conversation
/// (its id), so a repeated lookup is dropped as a duplicate.
pub fn subject_event(channel_id: &str, conversation_id: &str, link: &str) -> Event {
    Event {
        id: format!("instagram:{channel_id}:subject:{conversation_id}"),
        occurred_at_ms: omnibus_core::now_ms(),
        recorded_at_ms: 0,
        channel_id: channel_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        payload: Some(Payload::ConversationSubject(ConversationSubject {
            subject_url: link.to_owned(),
        })),
    }
}

/// `GET /<media id>?fields=permalink` with the channel's token.
async fn lookup(
    instagram: &Instagram,
    context: &Context,
    channel: &ChannelState,
    media_id: &str,
) -> Option<String> {
    if !is_media_id(media_id) {
        tracing::debug!("comment on a media id Graph cannot have; no link looked up");
        return None;
    }
    let provider = context.provider::<Instagram>(channel);
    let token = channel
        .credentials
        .get("access_token")
        .map_or("", |t| t.trim());
    let url = format!(
        "{}/{GRAPH_VERSION}/{media_id}?fields=permalink",
        provider.base_url()
    );
    let builder = provider.http().get(url).bearer_auth(token);
    match provider.send(instagram, builder).await {
        Ok(answer) => {
            let link = answer["permalink"].as_str().unwrap_or_default();
            let usable = link.starts_with("https://") && link.len() <= MAX_LINK;
            if !usable {
                tracing::warn!(%media_id, "Graph answered without a usable permalink");
            }
            usable.then(|| link.to_owned())
        }
        Err(error) => {
            tracing::warn!(%media_id, error = %error.reason(), "cannot look up a post's link");
            None
        }
    }
}

/// Graph ids are digits (and, for some objects, letters and `_`): anything
/// else would change the request's path.
fn is_media_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{ChannelView, normalize};
    use crate::wire::parse_notification;

    fn comment_webhook() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "object": "instagram",
            "entry": [{ "id": "17841400000000001", "time": 1717000100, "changes": [
                { "field": "comments", "value": {
                    "id": "c1", "from": { "id": "u1", "username": "jane" },
                    "text": "price?", "media": { "id": "m1" } } },
                { "field": "comments", "value": {
                    "id": "c2", "from": { "id": "u1", "username": "jane" },
                    "text": "and now?", "media": { "id": "m1" } } },
                { "field": "comments", "value": {
                    "id": "c3", "from": { "id": "u2", "username": "joe" },
                    "text": "hi", "media": { "id": "m2" } } }
            ]}]
        }))
        .unwrap()
    }

    fn events(permalinks: &Permalinks) -> Vec<Event> {
        let notification = parse_notification(&comment_webhook()).unwrap();
        let view = ChannelView {
            id: "ch_1",
            account_id: "17841400000000001",
        };
        normalize(&view, &notification, permalinks).events
    }

    #[test]
    fn missing_groups_conversations_by_post_once_each() {
        let wanted = missing(&events(&Permalinks::new()));
        assert_eq!(wanted.len(), 2);
        assert_eq!(wanted["m1"].len(), 1, "two comments, one conversation");
        assert_eq!(wanted["m2"].len(), 1);
    }

    #[test]
    fn a_cached_link_is_in_the_event_and_not_looked_up_again() {
        let cache = PermalinkCache::default();
        cache.put("m1", "https://www.instagram.com/p/m1/");
        let known = cache.known(&["m1".to_owned(), "m2".to_owned()]);
        let events = events(&known);
        let wanted = missing(&events);
        assert_eq!(wanted.keys().collect::<Vec<_>>(), ["m2"]);
        let Some(Payload::MessageReceived(first)) = &events[0].payload else {
            panic!("a message")
        };
        let peer = first.peer.as_ref().unwrap();
        assert_eq!(peer.subject_url, "https://www.instagram.com/p/m1/");
    }

    #[test]
    fn media_ids_that_would_change_the_path_are_refused() {
        assert!(is_media_id("17887498072083520"));
        assert!(!is_media_id("1/../me"));
        assert!(!is_media_id("1?fields=access_token"));
        assert!(!is_media_id(""));
    }

    #[test]
    fn the_subject_event_is_one_per_conversation() {
        let a = subject_event("ch_1", "conv_1", "https://x/p/1/");
        let b = subject_event("ch_1", "conv_1", "https://x/p/1/");
        assert_eq!(a.id, b.id);
        assert_eq!(a.conversation_id, "conv_1");
    }
}
