//! Every Cloud API message type reaches the operator's view.

use omnibus_proto::{AttachmentKind, AuthorKind, Direction};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self as meta, Customer, MESSAGE_KINDS, PHONE_NUMBER_ID};

use super::{WA_ID, now_s};
use crate::support::{PATIENCE, all_messages, wait_for_conversations};

#[tokio::test]
async fn whatsapp_every_message_type_is_listed_in_the_conversation() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let at = now_s();
    let mut messages: Vec<_> = MESSAGE_KINDS
        .iter()
        .map(|kind| meta::sample(kind, WA_ID, &format!("wamid.{kind}"), at).unwrap())
        .collect();
    messages.push(meta::replying_to(
        meta::text(WA_ID, "wamid.reply", at, "about that photo"),
        WA_ID,
        "wamid.image",
    ));
    let count = messages.len();
    let payload = meta::messages(PHONE_NUMBER_ID, &Customer::default(), messages);
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &payload).await,
        200
    );
    let call = meta::call(
        PHONE_NUMBER_ID,
        &Customer::default(),
        "wacid.1",
        "terminate",
        at,
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &call).await,
        200
    );
    let echo = meta::echo(
        PHONE_NUMBER_ID,
        WA_ID,
        "wamid.echo",
        at,
        "Sent from the shop's phone",
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &echo).await,
        200
    );

    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, "Sheena Nelson");
    let listed = wait_until("every message listed", PATIENCE, || async {
        let listed = all_messages(&sandbox, &conversation.id).await;
        (listed.len() == count + 2).then_some(listed)
    })
    .await;
    let by_wamid = |wamid: &str| {
        listed
            .iter()
            .find(|m| m.provider_message_id == wamid)
            .unwrap_or_else(|| panic!("{wamid} listed"))
    };
    assert_eq!(
        by_wamid("wamid.text").text,
        "Does it come in another color?"
    );
    let image = by_wamid("wamid.image");
    assert_eq!(image.text, "Photo of the damaged box");
    assert_eq!(image.attachments[0].kind(), AttachmentKind::Image);
    assert_eq!(image.attachments[0].provider_file_id, "2754859441498128");
    assert_eq!(image.attachments[0].mime_type, "image/jpeg");
    let kinds = [
        ("wamid.audio", AttachmentKind::Audio),
        ("wamid.voice", AttachmentKind::Voice),
        ("wamid.video", AttachmentKind::Video),
        ("wamid.document", AttachmentKind::Document),
        ("wamid.sticker", AttachmentKind::Sticker),
        ("wamid.location", AttachmentKind::Location),
        ("wamid.contacts", AttachmentKind::Contact),
    ];
    for (wamid, kind) in kinds {
        assert_eq!(by_wamid(wamid).attachments[0].kind(), kind, "{wamid}");
    }
    assert_eq!(
        by_wamid("wamid.document").attachments[0].file_name,
        "invoice-A12345.pdf"
    );
    assert_eq!(by_wamid("wamid.button_reply").text, "Change");
    assert_eq!(by_wamid("wamid.list_reply").text, "Express Shipping");
    assert_eq!(by_wamid("wamid.button").text, "Stop promotions");
    assert_eq!(by_wamid("wamid.reaction").text, "\u{1F44D}");
    for wamid in [
        "wamid.unsupported",
        "wamid.errors",
        "wamid.system",
        "wacid.1",
    ] {
        let notice = by_wamid(wamid);
        assert_eq!(notice.author_kind(), AuthorKind::System, "{wamid}");
        assert!(!notice.text.is_empty(), "{wamid}");
    }
    assert!(by_wamid("wacid.1").text.contains("called"));
    let reply = by_wamid("wamid.reply");
    assert_eq!(reply.author_kind(), AuthorKind::Contact);
    assert_eq!(reply.author_name, "Sheena Nelson");
    let echo = by_wamid("wamid.echo");
    assert_eq!(echo.direction(), Direction::Outbound);
    assert_eq!(echo.author_kind(), AuthorKind::ExternalDevice);
}
