//! Instagram comment threads and echoes: a comment conversation learns its
//! post's link from Graph without delaying the webhook, and the echo of a
//! message Omnibus sent (Direct, or a private answer to a comment) is that
//! message, never a second one.

use omnibus_instagram_standin::StandIn;
use omnibus_instagram_standin::webhook::{self as ig, ACCOUNT_ID, MEDIA_ID};
use omnibus_proto::{
    AuthorKind, CommentReply, GetConversationRequest, Message, MessageStatus, SendMessageRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;
use serde_json::{Value, json};

use super::{APP_SECRET, channel, now, post, send};
use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

/// Graph's lookups of the post's link so far.
fn permalink_lookups(graph: &StandIn) -> usize {
    let path = format!("/v21.0/{MEDIA_ID}");
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// The echo Meta sends of a business message `mid` with `text`, now.
fn echo(mid: &str, text: &str) -> Value {
    let mut event = ig::sample("echo", mid);
    event["message"]["text"] = json!(text);
    now(ig::messaging(vec![event]))
}

/// Sends `request` and waits until it is SENT; returns it.
async fn sent(sandbox: &Sandbox, conversation_id: &str, request: SendMessageRequest) -> Message {
    let id = send(sandbox, request).await;
    wait_for_message(sandbox, conversation_id, &id, "SENT with its mid", |m| {
        m.status() == MessageStatus::Sent && !m.provider_message_id.is_empty()
    })
    .await
}

#[tokio::test]
async fn instagram_a_comment_conversation_links_its_post() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    let first = now(ig::comment("17865799348089039", "What's the price?"));
    assert_eq!(
        post(&sandbox, &channel.id, &first, Some(APP_SECRET)).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let link = format!("https://www.instagram.com/p/{MEDIA_ID}/");
    let mut api = sandbox.conversations().await;
    wait_until("the post's link on the conversation", PATIENCE, || {
        let mut api = api.clone();
        let request = GetConversationRequest {
            id: conversation.id.clone(),
        };
        let link = link.clone();
        async move {
            let found = api.get_conversation(request).await.ok()?.into_inner();
            (found.subject_url == link).then_some(())
        }
    })
    .await;
    assert_eq!(permalink_lookups(&graph), 1);

    // A second comment on the post: its link is known, no second lookup.
    let second = now(ig::comment("17865799348089040", "Still there?"));
    assert_eq!(
        post(&sandbox, &channel.id, &second, Some(APP_SECRET)).await,
        200
    );
    wait_until("the second comment", PATIENCE, || async {
        (all_messages(&sandbox, &conversation.id).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(permalink_lookups(&graph), 1, "the link was cached");
    let fetched = api
        .get_conversation(GetConversationRequest {
            id: conversation.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.subject_url, link);
    assert_eq!(wait_for_conversations(&sandbox, 1).await.len(), 1);

    // An answer naming no comment goes under the customer's latest one.
    let answer = SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "Yes, in stock".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    sent(&sandbox, &conversation.id, answer).await;
    let call = graph.sent().pop().expect("the reply");
    assert_eq!(call.path, "/v21.0/17865799348089040/replies");
}

#[tokio::test]
async fn instagram_echoes_of_our_sends_are_not_shown_twice() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    let hello = now(ig::messaging(vec![ig::sample("text", "m_1")]));
    assert_eq!(
        post(&sandbox, &channel.id, &hello, Some(APP_SECRET)).await,
        200
    );
    let direct = wait_for_conversations(&sandbox, 1).await.remove(0);
    let reply = SendMessageRequest {
        conversation_id: direct.id.clone(),
        text: "Yes, it is!".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let ours = sent(&sandbox, &direct.id, reply).await;
    // Meta echoes our message, then the business writes from the phone.
    let our_echo = echo(&ours.provider_message_id, "Yes, it is!");
    assert_eq!(
        post(&sandbox, &channel.id, &our_echo, Some(APP_SECRET)).await,
        200
    );
    let phone = echo("m_phone_1", "Sent from the phone");
    assert_eq!(
        post(&sandbox, &channel.id, &phone, Some(APP_SECRET)).await,
        200
    );
    let messages = wait_until("the phone's message", PATIENCE, || async {
        let all = all_messages(&sandbox, &direct.id).await;
        all.iter()
            .any(|m| m.text == "Sent from the phone")
            .then_some(all)
    })
    .await;
    let texts: Vec<(&str, AuthorKind)> = messages
        .iter()
        .map(|m| (m.text.as_str(), m.author_kind()))
        .collect();
    assert_eq!(
        texts,
        [
            ("Hi! Is this jacket still available?", AuthorKind::Contact),
            ("Yes, it is!", AuthorKind::Operator),
            ("Sent from the phone", AuthorKind::ExternalDevice),
        ],
        "our echo is our message, the phone's is EXTERNAL_DEVICE"
    );

    // A private answer to a comment goes out in Direct; its echo comes as a
    // Direct message, and belongs to the comment's conversation.
    let comment = now(ig::comment("17865799348089039", "What's the price?"));
    assert_eq!(
        post(&sandbox, &channel.id, &comment, Some(APP_SECRET)).await,
        200
    );
    let thread = wait_until("the comment conversation", PATIENCE, || async {
        let all = wait_for_conversations(&sandbox, 2).await;
        all.into_iter().find(|c| c.id != direct.id)
    })
    .await;
    let asked = all_messages(&sandbox, &thread.id).await.remove(0);
    let private = SendMessageRequest {
        conversation_id: thread.id.clone(),
        reply_to_message_id: asked.id,
        text: "It's $40, details in Direct".into(),
        comment_reply: CommentReply::Private.into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let answer = sent(&sandbox, &thread.id, private).await;
    assert_eq!(
        graph.sent().last().unwrap().path,
        format!("/v21.0/{ACCOUNT_ID}/messages")
    );
    let private_echo = echo(&answer.provider_message_id, "It's $40, details in Direct");
    assert_eq!(
        post(&sandbox, &channel.id, &private_echo, Some(APP_SECRET)).await,
        200
    );
    let later = echo("m_phone_2", "Anything else?");
    assert_eq!(
        post(&sandbox, &channel.id, &later, Some(APP_SECRET)).await,
        200
    );
    let direct_now = wait_until("the second phone message", PATIENCE, || async {
        let all = all_messages(&sandbox, &direct.id).await;
        all.iter()
            .any(|m| m.text == "Anything else?")
            .then_some(all)
    })
    .await;
    assert!(
        direct_now
            .iter()
            .all(|m| m.provider_message_id != answer.provider_message_id),
        "the private answer's echo is not a second message: {direct_now:?}"
    );
    assert_eq!(all_messages(&sandbox, &thread.id).await.len(), 2);
}

#[tokio::test]
async fn instagram_an_echo_ahead_of_the_send_outcome_is_still_one_message() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    let hello = now(ig::messaging(vec![ig::sample("text", "m_1")]));
    assert_eq!(
        post(&sandbox, &channel.id, &hello, Some(APP_SECRET)).await,
        200
    );
    let direct = wait_for_conversations(&sandbox, 1).await.remove(0);
    // Meta's echo may arrive before the Send API's answer is recorded: the
    // stand-in's first send gets this mid, so its echo is posted first.
    let first_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU000001";
    let early = echo(first_mid, "On its way");
    assert_eq!(
        post(&sandbox, &channel.id, &early, Some(APP_SECRET)).await,
        200
    );
    wait_until("the early echo", PATIENCE, || async {
        let all = all_messages(&sandbox, &direct.id).await;
        (all.len() == 2).then_some(())
    })
    .await;
    let reply = SendMessageRequest {
        conversation_id: direct.id.clone(),
        text: "On its way".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let ours = sent(&sandbox, &direct.id, reply).await;
    assert_eq!(ours.provider_message_id, first_mid);
    let messages = wait_until("the echo folded into our message", PATIENCE, || async {
        let all = all_messages(&sandbox, &direct.id).await;
        (all.len() == 2).then_some(all)
    })
    .await;
    let replies: Vec<&Message> = messages.iter().filter(|m| m.text == "On its way").collect();
    assert_eq!(replies.len(), 1, "{messages:?}");
    assert_eq!(replies[0].author_kind(), AuthorKind::Operator);
    assert_eq!(replies[0].id, ours.id);
}
