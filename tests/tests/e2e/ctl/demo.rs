//! The README's offline WhatsApp walkthrough, command by command: a Graph
//! API stand-in, a customer message backdated past 24 hours, a held free
//! text, the default template that reopens the window, the release when
//! the customer answers, and the audit trail that shows all of it.

use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;
use omnibus_tests::whatsapp::{ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::PHONE_NUMBER_ID;

use super::{PATIENCE, ok};

/// What the customer received, texts as they are and templates by name.
fn received(graph: &StandIn) -> Vec<String> {
    graph
        .sent()
        .iter()
        .map(|r| match r.body["type"].as_str() {
            Some("template") => format!(
                "template:{}",
                r.body["template"]["name"].as_str().unwrap_or("")
            ),
            _ => r.body["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect()
}

async fn wait_received(graph: &StandIn, count: usize) -> Vec<String> {
    wait_until(
        &format!("{count} messages at the Graph stand-in"),
        PATIENCE,
        || async {
            let all = received(graph);
            (all.len() >= count).then_some(all)
        },
    )
    .await
}

#[tokio::test]
async fn omnictl_whatsapp_window_walkthrough_runs_offline() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (grpc, http) = (sandbox.grpc_url(), sandbox.http_url());
    let base = graph.base_url();
    let channel = ok(
        &grpc,
        &[
            "channels",
            "create",
            "--kind",
            "whatsapp",
            "--name",
            "Shop",
            "--credential",
            &format!("access_token={ACCESS_TOKEN}"),
            "--credential",
            &format!("app_secret={APP_SECRET}"),
            "--credential",
            &format!("verify_token={VERIFY_TOKEN}"),
            "--credential",
            &format!("phone_number_id={PHONE_NUMBER_ID}"),
            "--api-base-url",
            &base,
        ],
    )
    .await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let early = super::omnictl(
        &grpc,
        &[
            "channels",
            "update",
            &channel_id,
            "--default-template",
            "reopen",
        ],
    )
    .await;
    let early = omnictl::describe(&early.unwrap_err());
    assert!(
        early.starts_with("FAILED_PRECONDITION") && early.contains("not a template"),
        "{early}"
    );
    ok(
        &grpc,
        &[
            "templates",
            "upsert",
            &channel_id,
            "reopen",
            "Hi! We have an update on your request.",
            "--language",
            "en_US",
            "--status",
            "approved",
        ],
    )
    .await;
    ok(
        &grpc,
        &[
            "templates",
            "upsert",
            &channel_id,
            "order_update",
            "Order {{1}} ships {{2}}.",
            "--language",
            "en_US",
            "--status",
            "approved",
        ],
    )
    .await;
    let with_params = super::omnictl(
        &grpc,
        &[
            "channels",
            "update",
            &channel_id,
            "--default-template",
            "order_update",
        ],
    )
    .await;
    let with_params = omnictl::describe(&with_params.unwrap_err());
    assert!(with_params.contains("has parameters"), "{with_params}");
    ok(
        &grpc,
        &[
            "channels",
            "update",
            &channel_id,
            "--default-template",
            "reopen",
        ],
    )
    .await;

    // The customer wrote 30 hours ago: the window is closed.
    let simulate = [
        "simulate",
        "whatsapp",
        "--http",
        &http,
        "--channel",
        &channel_id,
        "--app-secret",
        APP_SECRET,
    ];
    let mut old = simulate.to_vec();
    old.extend(["--text", "Where is order 42?", "--sent-ago", "30h"]);
    ok(&grpc, &old).await;
    let conversation = wait_until("the conversation", PATIENCE, || async {
        let listed = ok(&grpc, &["conversations", "list", "--channel", &channel_id]).await;
        listed["conversations"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    let window = wait_until("the closed window", PATIENCE, || async {
        let window = ok(&grpc, &["window", &conversation]).await;
        window["last_customer_message_at"]
            .is_string()
            .then_some(window)
    })
    .await;
    assert_eq!(window["open"], false, "{window}");

    // Free text is held; the default template goes out to reopen the window.
    let held = ok(
        &grpc,
        &["messages", "send", &conversation, "It ships tomorrow."],
    )
    .await;
    assert_eq!(held["status"], "HELD", "{held}");
    assert_eq!(wait_received(&graph, 1).await, ["template:reopen"]);
    let template = ok(
        &grpc,
        &[
            "messages",
            "send",
            &conversation,
            "--template",
            "order_update",
            "--param",
            "42",
            "--param",
            "tomorrow",
        ],
    )
    .await;
    assert_eq!(template["template"]["name"], "order_update", "{template}");
    let sent = wait_received(&graph, 2).await;
    assert_eq!(sent[1], "template:order_update");
    let parameters = &graph.sent()[1].body["template"]["components"][0]["parameters"];
    assert_eq!(parameters[0]["text"], "42", "{parameters}");

    // The customer answers now: the held text is released.
    let mut now = simulate.to_vec();
    now.extend(["--text", "Thanks!"]);
    ok(&grpc, &now).await;
    let sent = wait_received(&graph, 3).await;
    assert_eq!(sent[2], "It ships tomorrow.");

    // The history lists messages as the customer got them: the held text
    // after the template that reopened the window and after the answer.
    let texts: Vec<String> = wait_until(
        "the answer and the release in the history",
        PATIENCE,
        || async {
            let listed = ok(&grpc, &["messages", "list", &conversation]).await;
            let messages = listed["messages"].as_array()?.clone();
            let released = messages
                .iter()
                .any(|m| m["text"] == "It ships tomorrow." && m["status"] != "HELD");
            let answered = messages.iter().any(|m| m["text"] == "Thanks!");
            (released && answered).then(|| {
                messages
                    .iter()
                    .filter_map(|m| m["text"].as_str().map(str::to_owned))
                    .collect()
            })
        },
    )
    .await;
    let at = |text: &str| {
        texts
            .iter()
            .position(|t| *t == text)
            .unwrap_or_else(|| panic!("{text:?} in {texts:?}"))
    };
    assert!(
        at("Hi! We have an update on your request.") < at("It ships tomorrow."),
        "{texts:?}"
    );
    assert!(at("Thanks!") < at("It ships tomorrow."), "{texts:?}");

    let held_id = held["id"].as_str().unwrap();
    let trail = wait_until("the release in the trail", PATIENCE, || async {
        let events = ok(&grpc, &["conversations", "events", &conversation]).await;
        let of_held: Vec<String> = events["events"]
            .as_array()?
            .iter()
            .filter(|e| e["message_id"] == held_id)
            .filter_map(|e| e["kind"].as_str().map(str::to_owned))
            .collect();
        of_held.iter().any(|k| k == "dispatched").then_some(of_held)
    })
    .await;
    let position = |kind: &str| trail.iter().position(|k| k == kind);
    assert!(position("held") < position("released"), "{trail:?}");
    assert!(position("released") < position("dispatched"), "{trail:?}");
}
