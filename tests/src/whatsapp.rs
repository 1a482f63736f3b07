//! WhatsApp for end-to-end tests: a channel whose Graph API is a stand-in
//! (through the channel's `api_base_url`, so each test has its own), and
//! webhooks posted the way Meta posts them, signed with the app secret.

use omnibus_proto::{Channel, ChannelKind, CreateChannelRequest};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{PHONE_NUMBER_ID, SIGNATURE_HEADER, sign};
use serde_json::Value;

use crate::Sandbox;

/// The channel's `access_token`.
pub const ACCESS_TOKEN: &str = "EAAGm0PX4ZCpsBAKjZBcE2eTest";
/// The channel's `app_secret`, which signs its webhooks.
pub const APP_SECRET: &str = "8c1e3a0f2b9d4e7a6c5b";
/// The channel's `verify_token` for the subscription handshake.
pub const VERIFY_TOKEN: &str = "meatyhamhock";
/// The channel's `business_account_id`.
pub const BUSINESS_ACCOUNT_ID: &str = "102290129340398";

/// Creates a WhatsApp channel for the business number `phone_number_id`
/// against `graph`.
pub async fn channel_for(sandbox: &Sandbox, graph: &StandIn, phone_number_id: &str) -> Channel {
    let credentials = [
        ("access_token", ACCESS_TOKEN),
        ("app_secret", APP_SECRET),
        ("verify_token", VERIFY_TOKEN),
        ("phone_number_id", phone_number_id),
        ("business_account_id", BUSINESS_ACCOUNT_ID),
    ];
    let request = CreateChannelRequest {
        kind: ChannelKind::Whatsapp as i32,
        name: String::new(),
        credentials: credentials
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        settings: None,
        api_base_url: graph.base_url(),
    };
    sandbox
        .channels()
        .await
        .create_channel(request)
        .await
        .expect("create a whatsapp channel")
        .into_inner()
}

/// Creates a WhatsApp channel for the business number of the examples.
pub async fn channel(sandbox: &Sandbox, graph: &StandIn) -> Channel {
    channel_for(sandbox, graph, PHONE_NUMBER_ID).await
}

/// Posts a raw body to a WhatsApp webhook with an optional signature header.
pub async fn post(
    client: &reqwest::Client,
    http_url: &str,
    channel_id: &str,
    signature: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::StatusCode {
    let mut request = client
        .post(format!("{http_url}/webhooks/whatsapp/{channel_id}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    request.send().await.expect("webhook request").status()
}

/// Posts `payload` signed with [`APP_SECRET`], as Meta does.
pub async fn post_signed(
    client: &reqwest::Client,
    http_url: &str,
    channel_id: &str,
    payload: &Value,
) -> reqwest::StatusCode {
    let body = payload.to_string();
    let signature = sign(APP_SECRET, body.as_bytes());
    post(client, http_url, channel_id, Some(&signature), body).await
}

/// The subscription handshake; returns the status and the body.
pub async fn handshake(
    client: &reqwest::Client,
    http_url: &str,
    channel_id: &str,
    verify_token: &str,
    challenge: &str,
) -> (reqwest::StatusCode, String) {
    let url = format!(
        "{http_url}/webhooks/whatsapp/{channel_id}?hub.mode=subscribe\
         &hub.challenge={challenge}&hub.verify_token={verify_token}"
    );
    let response = client.get(url).send().await.expect("handshake request");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}
