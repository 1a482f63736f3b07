//! Conversation lifecycle through the API: assignment, read and answered
//! state, closing and reopening, operator-started conversations, paging.

use omnibus_proto::{
    AssignConversationRequest, CloseConversationRequest, CloseReason, ConversationStatus,
    GetConversationRequest, ListContactsRequest, ListConversationsRequest, ListMessagesRequest,
    MarkNoReplyNeededRequest, MarkReadRequest, MessageStatus, StartConversationRequest,
};
use omnibus_tests::{Sandbox, telegram};
use tonic::Code;

use crate::support::{all_messages, wait_for_conversations, wait_for_message};

const SECRET: &str = "lifecycle-secret";

#[tokio::test]
async fn assign_read_answer_close_and_reopen() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    for (id, text) in [(1, "first"), (2, "second")] {
        let update = telegram::text_update(id, 100, text);
        assert_eq!(
            telegram::post_update(&client, &url, &channel.id, SECRET, &update).await,
            200
        );
    }
    let mut api = sandbox.conversations().await;
    let id = wait_for_conversations(&sandbox, 1).await.remove(0).id;
    let conversation =
        omnibus_testkit::wait_until("two unread", crate::support::PATIENCE, || async {
            let c = sandbox
                .conversations()
                .await
                .get_conversation(GetConversationRequest { id: id.clone() })
                .await
                .ok()?
                .into_inner();
            (c.unread_count == 2).then_some(c)
        })
        .await;
    assert!(conversation.unanswered);

    let assigned = api
        .assign_conversation(AssignConversationRequest {
            id: id.clone(),
            operator_id: "op-7".into(),
            group_id: "billing".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (assigned.assignee_id.as_str(), assigned.group_id.as_str()),
        ("op-7", "billing")
    );
    let mine = api
        .list_conversations(ListConversationsRequest {
            assignee_id: "op-7".into(),
            unanswered_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.conversations.len(), 1);

    let read = api
        .mark_read(MarkReadRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.unread_count, 0);
    let quiet = api
        .mark_no_reply_needed(MarkNoReplyNeededRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!quiet.unanswered);

    let closed = api
        .close_conversation(CloseConversationRequest {
            id: id.clone(),
            operator_id: "op-7".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.status(), ConversationStatus::Closed);
    assert_eq!(closed.close_reason(), CloseReason::Operator);
    let open_ones = api
        .list_conversations(ListConversationsRequest {
            status: ConversationStatus::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(open_ones.conversations.is_empty());

    let update = telegram::text_update(3, 100, "back again");
    assert_eq!(
        telegram::post_update(&client, &url, &channel.id, SECRET, &update).await,
        200
    );
    let reopened = omnibus_testkit::wait_until(
        "the reopened conversation",
        crate::support::PATIENCE,
        || async {
            let c = sandbox
                .conversations()
                .await
                .get_conversation(GetConversationRequest { id: id.clone() })
                .await
                .ok()?
                .into_inner();
            (c.status() == ConversationStatus::Open).then_some(c)
        },
    )
    .await;
    assert_eq!(reopened.id, id, "the same conversation opens again");
    assert_eq!(reopened.close_reason(), CloseReason::Unspecified);
    assert!(reopened.unanswered);

    let first_page = api
        .list_messages(ListMessagesRequest {
            conversation_id: id.clone(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.messages.len(), 3);
    assert!(!first_page.next_page_token.is_empty());
    let second_page = api
        .list_messages(ListMessagesRequest {
            conversation_id: id.clone(),
            page_size: 3,
            page_token: first_page.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<_> = first_page
        .messages
        .iter()
        .chain(&second_page.messages)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "first",
            "second",
            "Conversation closed by op-7",
            "Conversation reopened by the customer",
            "back again"
        ],
        "oldest first, across pages, with the close and the reopen as system lines"
    );
    assert!(second_page.next_page_token.is_empty());
}

#[tokio::test]
async fn an_operator_starts_a_conversation_with_a_known_contact() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let update = telegram::text_update(1, 4242, "hello");
    assert_eq!(
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await,
        200
    );
    let first = wait_for_conversations(&sandbox, 1).await.remove(0);
    let mut api = sandbox.conversations().await;
    api.close_conversation(CloseConversationRequest {
        id: first.id.clone(),
        operator_id: String::new(),
    })
    .await
    .unwrap();

    let contacts = sandbox
        .contacts()
        .await
        .list_contacts(ListContactsRequest {
            query: "sojan".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .contacts;
    assert_eq!(contacts.len(), 1);
    let started = api
        .start_conversation(StartConversationRequest {
            contact_id: contacts[0].id.clone(),
            channel_id: channel.id.clone(),
            text: "Your order has shipped".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.id, first.id, "one conversation per customer chat");
    assert_eq!(started.status(), ConversationStatus::Open);
    assert_eq!(started.assignee_id, "op-1");
    let message = all_messages(&sandbox, &started.id).await.pop().unwrap();
    wait_for_message(&sandbox, &started.id, &message.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    assert_eq!(sandbox.telegram.sent()[0].body["chat_id"], 4242);

    let unknown = api
        .start_conversation(StartConversationRequest {
            contact_id: "ct_nobody".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}
