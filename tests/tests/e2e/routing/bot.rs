//! A bot first: its messages show as BOT, and the fallback takes over when
//! it does not answer in time or hands over.

use omnibus_proto::{
    AssignConversationRequest, AuthorKind, GroupRule, Routing, SendMessageRequest,
};
use omnibus_tests::Sandbox;

use super::{assignments, customer_writes, online, routing_settings, upsert_group, wait_assigned};
use crate::support::all_messages;
use crate::timers::create_channel;

const BOT: &str = "bot-1";

#[tokio::test]
async fn the_bot_hands_over_or_times_out_to_the_fallback() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    upsert_group(&grpc, "humans", &["op-h"], GroupRule::RoundRobin).await;
    let settings = routing_settings(Routing {
        bot_id: BOT.into(),
        fallback_group_id: "humans".into(),
        bot_timeout_seconds: Some(3),
        ..Default::default()
    });
    let channel = create_channel(&grpc, settings).await;
    let _h = online(&sandbox, "op-h").await;

    // The bot answers, then hands over by assigning to nobody.
    let answered = customer_writes(&http, &channel, 1, 900).await;
    wait_assigned(&grpc, &answered, BOT, "").await;
    let mut api = sandbox.conversations().await;
    let reply = api
        .send_message(SendMessageRequest {
            conversation_id: answered.clone(),
            text: "I am a bot; let me find a human.".into(),
            operator_id: BOT.into(),
            ..Default::default()
        })
        .await
        .expect("the bot answers")
        .into_inner();
    assert_eq!(reply.author_kind(), AuthorKind::Bot);
    api.assign_conversation(AssignConversationRequest {
        id: answered.clone(),
        ..Default::default()
    })
    .await
    .expect("hand over");
    wait_assigned(&grpc, &answered, "op-h", "humans").await;

    // The bot stays silent: the fallback takes over after the timeout.
    let silent = customer_writes(&http, &channel, 2, 901).await;
    wait_assigned(&grpc, &silent, BOT, "").await;
    wait_assigned(&grpc, &silent, "op-h", "humans").await;

    // The first conversation's deadline (due before the second's) was
    // disarmed by the answer: no further assignment came from it.
    let bot = (BOT.to_owned(), String::new());
    let human = ("op-h".to_owned(), "humans".to_owned());
    let nobody = (String::new(), String::new());
    assert_eq!(
        assignments(&grpc, &answered).await,
        [bot.clone(), nobody, human.clone()]
    );
    assert_eq!(assignments(&grpc, &silent).await, [bot, human]);
    let messages = all_messages(&sandbox, &answered).await;
    let from_bot = messages.iter().find(|m| m.id == reply.id).expect("listed");
    assert_eq!(from_bot.author_kind(), AuthorKind::Bot);
}
