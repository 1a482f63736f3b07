//! `omnictl simulate whatsapp`: a customer's text message as Meta posts it
//! to a WhatsApp Cloud API webhook, signed with the app secret.

use std::time::{SystemTime, UNIX_EPOCH};

use omnibus_whatsapp_standin::webhook::{self as meta, Customer, SIGNATURE_HEADER, sign};
use serde_json::{Value, json};

use super::{HTTP_TIMEOUT, WebhookResponse};
use crate::cli::{SimulateWhatsappApiArgs, SimulateWhatsappArgs};
use crate::client::normalize_addr;
use crate::error::{ConnectError, HttpStatusError};
use crate::output::Output;

/// A `messages` webhook with one text from the customer `wa_id`.
pub fn whatsapp_text_webhook(args: &SimulateWhatsappArgs, now: SystemTime) -> Value {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    // Backdated messages let the 24-hour window be tried without waiting.
    let ago = i64::try_from(args.sent_ago.map_or(0, |d| d.as_secs())).unwrap_or(i64::MAX);
    let seconds = seconds.saturating_sub(ago);
    let wamid = args.wamid.clone().unwrap_or_else(|| {
        format!(
            "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ{:X}A==",
            since_epoch.as_nanos()
        )
    });
    let customer = Customer {
        wa_id: args.wa_id.trim_start_matches('+').to_owned(),
        name: args.name.clone(),
    };
    let message = meta::text(&customer.wa_id, &wamid, seconds, &args.text);
    meta::messages(&args.phone_number_id, &customer, vec![message])
}

/// POSTs `body` to `{http}/webhooks/whatsapp/{channel_id}` with Meta's signature.
pub async fn post_whatsapp_webhook(
    http: &str,
    channel_id: &str,
    app_secret: &str,
    body: &str,
) -> anyhow::Result<WebhookResponse> {
    let base = normalize_addr(http);
    let url = format!(
        "{}/webhooks/whatsapp/{channel_id}",
        base.trim_end_matches('/')
    );
    let client = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(app_secret, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                anyhow::Error::new(ConnectError::new(&base, &e))
            } else {
                anyhow::Error::new(e).context(format!("POST {url} failed"))
            }
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Ok(WebhookResponse {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        body,
    })
}

fn hint(status: u16) -> &'static str {
    match status {
        400 => "the server did not accept the body as a WhatsApp webhook",
        401 | 403 => {
            "the signature does not match: check --app-secret against the channel's app_secret"
        }
        404 => "no such channel: unknown or deleted (check --channel and --http)",
        413 => "the webhook is larger than the 1 MiB limit",
        503 => "the event stream cannot be written right now (Meta would retry)",
        _ => super::status_hint(status),
    }
}

pub(super) async fn run(args: &SimulateWhatsappArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let payload = whatsapp_text_webhook(args, SystemTime::now());
    let body = payload.to_string();
    let response =
        post_whatsapp_webhook(&args.http, &args.channel_id, &args.app_secret, &body).await?;
    out.emit(
        || {
            let answer = serde_json::from_str(&response.body)
                .unwrap_or_else(|_| Value::String(response.body.clone()));
            json!({"status": response.status, "body": answer, "webhook": payload})
        },
        || {
            let mut text = format!("HTTP {} {}\n", response.status, response.reason);
            if !response.body.is_empty() {
                text.push_str(&response.body);
            }
            text
        },
    )?;
    if response.is_success() {
        return Ok(());
    }
    Err(HttpStatusError {
        status: response.status,
        reason: response.reason,
        hint: hint(response.status).to_owned(),
    }
    .into())
}

/// Serves the Graph API stand-in until Ctrl-C, printing each message
/// Omnibus sends (texts as they are, templates by name).
pub(super) async fn api(
    args: &SimulateWhatsappApiArgs,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let stand_in = omnibus_whatsapp_standin::StandIn::serve(listener).await;
    let base = stand_in.base_url();
    out.emit_line(
        || json!({"listening": base}),
        || {
            format!(
                "WhatsApp Cloud (Graph) API stand-in on {base}\n\
                 create a channel with --api-base-url {base} and any access_token, \
                 app_secret, verify_token and phone_number_id\n\
                 waiting for calls; Ctrl-C stops\n"
            )
        },
    )?;
    let mut printed = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tick.tick() => {}
        }
        let calls = stand_in.requests();
        for call in &calls[printed.min(calls.len())..] {
            out.emit_line(
                || json!({"method": call.method, "path": call.path, "body": call.body}),
                || describe_call(&call.method, &call.path, &call.body),
            )?;
        }
        printed = calls.len();
    }
}

/// One line for a Graph API call: `POST …/messages to=<wa_id> <what>`.
pub fn describe_call(method: &str, path: &str, body: &Value) -> String {
    let to = body.get("to").and_then(Value::as_str).unwrap_or("-");
    let what = match body.get("type").and_then(Value::as_str) {
        Some("template") => format!(
            "template:{}",
            body["template"]["name"].as_str().unwrap_or_default()
        ),
        Some("text") => body["text"]["body"].as_str().unwrap_or_default().to_owned(),
        Some(other) => format!("({other})"),
        None => String::new(),
    };
    format!("{method} {path} to={to} {what}")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command, SimulateCmd};

    fn args(extra: &[&str]) -> SimulateWhatsappArgs {
        let mut argv = vec![
            "omnictl",
            "simulate",
            "whatsapp",
            "--channel",
            "ch_1",
            "--app-secret",
            "s3cret",
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Simulate(SimulateCmd::Whatsapp(args)) => args,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_webhook_is_a_cloud_api_text_message() {
        let args = args(&[
            "--text",
            "My order did not arrive",
            "--wamid",
            "wamid.X",
            "--wa-id",
            "+447700900123",
        ]);
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_749_416_383);
        let payload = whatsapp_text_webhook(&args, at);
        assert_eq!(payload["object"], "whatsapp_business_account");
        let value = &payload["entry"][0]["changes"][0]["value"];
        assert_eq!(payload["entry"][0]["changes"][0]["field"], "messages");
        assert_eq!(value["metadata"]["phone_number_id"], "106540352242922");
        assert_eq!(value["contacts"][0]["wa_id"], "447700900123");
        assert_eq!(value["contacts"][0]["profile"]["name"], "Sheena Nelson");
        let message = &value["messages"][0];
        assert_eq!(message["id"], "wamid.X");
        assert_eq!(message["from"], "447700900123");
        assert_eq!(message["timestamp"], "1749416383");
        assert_eq!(message["text"]["body"], "My order did not arrive");
    }

    #[test]
    fn sent_ago_backdates_the_message() {
        let args = args(&["--sent-ago", "25h"]);
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_749_416_383);
        let payload = whatsapp_text_webhook(&args, at);
        let message = &payload["entry"][0]["changes"][0]["value"]["messages"][0];
        assert_eq!(
            message["timestamp"],
            (1_749_416_383 - 25 * 3600).to_string()
        );
    }

    #[test]
    fn graph_calls_read_as_one_line() {
        let template =
            json!({"to": "16505551234", "type": "template", "template": {"name": "reopen"}});
        assert_eq!(
            describe_call("POST", "/v21.0/1/messages", &template),
            "POST /v21.0/1/messages to=16505551234 template:reopen"
        );
        let text = json!({"to": "1", "type": "text", "text": {"body": "Hi"}});
        assert!(describe_call("POST", "/m", &text).ends_with("to=1 Hi"));
    }

    #[test]
    fn runs_get_different_wamids_by_default() {
        let args = args(&[]);
        let a = whatsapp_text_webhook(&args, UNIX_EPOCH + std::time::Duration::from_nanos(1));
        let b = whatsapp_text_webhook(&args, UNIX_EPOCH + std::time::Duration::from_nanos(2));
        let wamid = |p: &Value| p["entry"][0]["changes"][0]["value"]["messages"][0]["id"].clone();
        assert_ne!(wamid(&a), wamid(&b));
    }
}
