//! The operator console in a real headless Chromium against `serve all`
//! and the provider stand-ins: sign-in (and a wrong token refused), live
//! arrival, replying, delivery ticks, assignment and closing; and a WhatsApp
//! conversation past 24 hours offering templates and showing a held message.
//! Screenshots of the list and a conversation go to
//! `target/console-screenshots/`. Contacts (find, edit, merge) and operator
//! groups have their own files under `console/`.

use omnibus_proto::{
    ChannelSettings, ConversationStatus, ListOperatorsRequest, Presence, TemplateStatus,
    UpdateChannelRequest, UpsertTemplateRequest, operator_service_client::OperatorServiceClient,
    template_service_client::TemplateServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::browser::Browser;
use omnibus_tests::telegram::post_update;
use omnibus_tests::whatsapp::{self as wa, post_signed};
use omnibus_tests::{Sandbox, SandboxOptions};
use omnibus_whatsapp_standin::StandIn as Graph;
use omnibus_whatsapp_standin::webhook::{self, Customer, PHONE_NUMBER_ID};
use omnictl::simulate::{TelegramMessageSpec, telegram_update_json};
use serde_json::Value;

use crate::support::{PATIENCE, wait_for_conversations};

mod contacts;
mod groups;

const TOKEN: &str = "console-e2e-token";
const SECRET: &str = "console-secret";

/// A gRPC request with the sandbox's API token.
fn authed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {TOKEN}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// A customer's Telegram message.
fn customer_update(update_id: i64, chat_id: i64, first: &str, last: &str, text: &str) -> Value {
    telegram_update_json(&TelegramMessageSpec {
        update_id,
        message_id: update_id,
        chat_id,
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        username: String::new(),
        text: text.to_owned(),
        date: omnibus_core::now_ms() / 1000,
        ..TelegramMessageSpec::default()
    })
}

async fn sign_in(browser: &Browser, http: &str, operator: &str, token: &str) {
    browser.goto(&format!("{http}/console/")).await;
    browser.fill("#operator_id", operator).await;
    browser.fill("#token", token).await;
    browser.click("button[type=submit]").await;
}

/// No page wrote an error to the browser console.
async fn assert_no_console_errors(browser: &Browser) {
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "browser console errors: {errors:?}");
}

#[tokio::test]
async fn an_operator_signs_in_sees_a_customer_live_replies_assigns_and_closes() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        api_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    let http = sandbox.http_url();
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let earlier = customer_update(
        1,
        5001,
        "Maria",
        "Ivanova",
        "Hi! Do you deliver on Sundays?",
    );
    assert_eq!(
        post_update(&client, &http, &channel.id, SECRET, &earlier).await,
        200
    );

    let browser = Browser::start(1280, 800).await;

    // A wrong token is refused, and nothing is signed in.
    sign_in(&browser, &http, "alice", "not-the-token").await;
    browser.wait_text("#login-error", "not valid").await;
    let refused = browser.console_errors().await;
    assert!(
        refused.len() == 1 && refused[0].contains("/console/login") && refused[0].contains("401"),
        "the refusal is a 401 and nothing else failed: {refused:?}"
    );
    browser.goto(&format!("{http}/console/")).await;
    browser.find("#operator_id").await;

    // The right one signs in; the list is live and the operator is online.
    sign_in(&browser, &http, "alice", TOKEN).await;
    browser
        .wait_text("#conversation-list", "Maria Ivanova")
        .await;
    browser.find("body[data-live=on]").await;
    browser.script("window.__sameDocument = true;").await;
    let operators = OperatorServiceClient::connect(sandbox.grpc_url())
        .await
        .unwrap();
    wait_until(
        "alice online while the console is open",
        PATIENCE,
        || async {
            let list = operators
                .clone()
                .list_operators(authed(ListOperatorsRequest {}))
                .await
                .ok()?
                .into_inner();
            list.operators
                .iter()
                .any(|o| o.id == "alice" && o.presence() == Presence::Online)
                .then_some(())
        },
    )
    .await;

    // A new customer's message appears without reloading the page.
    let update = customer_update(2, 4242, "Sojan", "Jose", "Where is my order #1042?");
    assert_eq!(
        post_update(&client, &http, &channel.id, SECRET, &update).await,
        200
    );
    browser
        .wait_text("#conversation-list", "Where is my order #1042?")
        .await;
    assert_eq!(
        browser
            .script("return window.__sameDocument === true;")
            .await,
        true,
        "the list updated in place"
    );
    browser.screenshot("list").await;

    // Open it and reply: the stand-in receives the send, the page shows SENT.
    let sojan = wait_until("sojan's conversation", PATIENCE, || async {
        all_conversations_authed(&sandbox)
            .await
            .into_iter()
            .find(|c| c.title == "Sojan Jose")
    })
    .await;
    browser
        .click(&format!("a.row[data-conversation='{}']", sojan.id))
        .await;
    browser.wait_text("#conversation-title", "Sojan Jose").await;
    browser
        .fill(
            "#composer-text",
            "It ships today, here is the tracking link.",
        )
        .await;
    browser.click("#send").await;
    wait_until("the stand-in to receive the reply", PATIENCE, || async {
        sandbox
            .telegram
            .requests()
            .into_iter()
            .find(|r| {
                r.method == "sendMessage"
                    && r.body["text"] == "It ships today, here is the tracking link."
                    && r.body["chat_id"].to_string().contains("4242")
            })
            .map(|_| ())
    })
    .await;
    browser
        .wait_text("#messages li.msg.out:last-child", "Sent")
        .await;
    browser.screenshot("conversation").await;

    // Assign to another operator, then close.
    browser.fill("#assignee", "bob").await;
    browser.click("#assign-conversation").await;
    browser.wait_text("#conversation-holder", "bob").await;
    browser.click("#close-conversation").await;
    browser.wait_text("#conversation-status", "Closed").await;
    let sojan = all_conversations_authed(&sandbox)
        .await
        .into_iter()
        .find(|c| c.id == sojan.id)
        .unwrap();
    assert_eq!(sojan.assignee_id, "bob");
    assert_eq!(sojan.status(), ConversationStatus::Closed);
    assert_eq!(sojan.unread_count, 0, "opening the conversation read it");

    // The team lead's pages: channels, templates, webhooks, operators.
    browser.goto(&format!("{http}/console/channels")).await;
    browser.wait_text("#main .cards", "SupportBot").await;
    browser.wait_text("#main .cards", "Active").await;
    for (path, heading) in [
        ("templates", "Templates"),
        ("webhooks", "Outbound webhooks"),
    ] {
        browser.goto(&format!("{http}/console/{path}")).await;
        browser.wait_text("#main h1", heading).await;
    }
    browser.goto(&format!("{http}/console/operators")).await;
    browser
        .wait_text("#operators tr[data-operator=alice]", "online")
        .await;

    // Phone width: no sideways scrolling on the list or the conversation.
    browser.resize(390, 844).await;
    for path in ["/console/", &format!("/console/c/{}", sojan.id)] {
        browser.goto(&format!("{http}{path}")).await;
        browser.find("#main").await;
        let fits = browser
            .script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await;
        assert_eq!(fits, true, "{path} fits 390 px");
    }
    browser.screenshot("conversation-390").await;
    assert_no_console_errors(&browser).await;
}

async fn all_conversations_authed(sandbox: &Sandbox) -> Vec<omnibus_proto::Conversation> {
    let mut client = sandbox.conversations().await;
    client
        .list_conversations(authed(Default::default()))
        .await
        .unwrap()
        .into_inner()
        .conversations
}

#[tokio::test]
async fn a_whatsapp_conversation_past_24_hours_offers_templates_and_holds_free_text() {
    let sandbox = Sandbox::start().await;
    let graph = Graph::start().await;
    let channel = wa::channel(&sandbox, &graph).await;
    let grpc = sandbox.grpc_url();
    let mut templates = TemplateServiceClient::connect(grpc.clone()).await.unwrap();
    for (name, body) in [
        (
            "reopen",
            "Hello again! Reply to this message to continue our conversation.",
        ),
        (
            "order_update",
            "Hi {{1}}, your order {{2}} is ready for pickup.",
        ),
    ] {
        templates
            .upsert_template(UpsertTemplateRequest {
                channel_id: channel.id.clone(),
                name: name.into(),
                language: "en_US".into(),
                body: body.into(),
                category: "UTILITY".into(),
                status: TemplateStatus::Approved as i32,
            })
            .await
            .unwrap();
    }
    sandbox
        .channels()
        .await
        .update_channel(UpdateChannelRequest {
            id: channel.id.clone(),
            settings: Some(ChannelSettings {
                default_template: "reopen".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    // The customer wrote 30 hours ago: the window is closed.
    let customer = Customer::default();
    let sent_at = omnibus_core::now_ms() / 1000 - 30 * 3600;
    let message = webhook::text(
        &customer.wa_id,
        "wamid.console1",
        sent_at,
        "Is my refund done?",
    );
    let payload = webhook::messages(PHONE_NUMBER_ID, &customer, vec![message]);
    let client = reqwest::Client::new();
    assert_eq!(
        post_signed(&client, &sandbox.http_url(), &channel.id, &payload).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);

    let browser = Browser::start(1280, 800).await;
    let http = sandbox.http_url();
    sign_in(&browser, &http, "carol", "").await;
    browser
        .wait_text("#conversation-list", "Template needed")
        .await;
    browser
        .goto(&format!("{http}/console/c/{}", conversation.id))
        .await;
    browser.wait_text("#templates", "order_update").await;

    // Free text outside the window is held, and shown as held.
    browser
        .fill("#composer-text", "Your refund was approved yesterday.")
        .await;
    browser.click("#send").await;
    browser
        .wait_script(
            "held message",
            "return [...document.querySelectorAll('#messages li.msg.out')].some(li => \
             li.textContent.includes('Your refund was approved yesterday.') && \
             li.querySelector('[data-status=Held]'));",
        )
        .await;

    // An approved template with its parameters goes out.
    browser
        .click("details[data-template=order_update] summary")
        .await;
    browser.fill("#tp-order_update-1", "Sheena").await;
    browser.fill("#tp-order_update-2", "A-7").await;
    browser
        .click("details[data-template=order_update] button.primary")
        .await;
    let sent = wait_until("the template at the Graph stand-in", PATIENCE, || async {
        graph
            .sent()
            .into_iter()
            .find(|r| r.body["template"]["name"] == "order_update")
    })
    .await;
    let parameters = sent.body["template"]["components"].to_string();
    assert!(
        parameters.contains("Sheena") && parameters.contains("A-7"),
        "{parameters}"
    );
    browser
        .wait_text("#messages", "Template order_update")
        .await;
    browser.screenshot("whatsapp-template").await;
    assert_no_console_errors(&browser).await;
}
