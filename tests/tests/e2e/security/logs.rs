//! Secrets stay out of the logs (the handshake's `hub.verify_token`, the
//! query strings of outbound webhook URLs), a client's mistakes are not
//! logged as errors, and calls without the API token give one rate-limited
//! WARN rather than an ERROR each.

use omnibus_proto::{
    ChannelKind, CreateChannelRequest, CreateWebhookRequest, GetChannelRequest,
    ListChannelsRequest, channel_service_client::ChannelServiceClient,
    notification_service_client::NotificationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions, whatsapp};
use serde_json::Value;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::support::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");
const API_TOKEN: &str = "security-logs-api-token-0123456789";
const QUERY_SECRET: &str = "query-secret-never-logged";

type Interceptor = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;
type Channels = ChannelServiceClient<InterceptedService<Channel, Interceptor>>;

#[allow(clippy::result_large_err)] // the signature tonic's interceptors require
fn with_token(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let value = format!("Bearer {API_TOKEN}").parse().expect("header value");
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

#[tokio::test]
async fn secrets_stay_out_of_the_logs_and_client_errors_are_not_errors() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let graph = omnibus_whatsapp_standin::StandIn::start().await;
    let path = std::env::temp_dir().join(format!("omnibus-seclog-{}.jsonl", std::process::id()));
    let log = std::fs::File::create(&path).expect("a log file");
    let mut env = sandbox.env();
    env.push(("OMNIBUS_API_TOKEN", API_TOKEN.to_owned()));
    env.push(("OMNIBUS_LOG_FORMAT", "json".to_owned()));
    env.push(("RUST_LOG", "info".to_owned()));
    let server = ChildServer::start_logging(BINARY, "all", &env, log).await;
    let grpc = Channel::from_shared(server.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut channels: Channels =
        ChannelServiceClient::with_interceptor(grpc.clone(), with_token as Interceptor);

    let channel = create_whatsapp(&mut channels, &graph.base_url()).await;
    let client = reqwest::Client::new();
    let (status, echoed) = whatsapp::handshake(
        &client,
        &server.http_url(),
        &channel,
        whatsapp::VERIFY_TOKEN,
        "challenge-42",
    )
    .await;
    assert_eq!((status.as_u16(), echoed.as_str()), (200, "challenge-42"));

    let mut notifications =
        NotificationServiceClient::with_interceptor(grpc.clone(), with_token as Interceptor);
    notifications
        .create_webhook(CreateWebhookRequest {
            url: format!("https://hooks.example.com/in?token={QUERY_SECRET}"),
            secret: "hook-secret-0123456789".into(),
            kinds: vec![],
        })
        .await
        .expect("create webhook");

    // The caller's mistakes: a missing channel, calls without the token.
    let missing = channels
        .get_channel(GetChannelRequest {
            id: "ch_missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let mut anonymous = ChannelServiceClient::new(grpc);
    for _ in 0..5 {
        let refused = anonymous
            .list_channels(ListChannelsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
    }

    // The handshake and the webhook's creation are logged first.
    let logged = |what: &'static str| {
        let path = path.clone();
        wait_until(what, PATIENCE, move || {
            let text = std::fs::read_to_string(&path).ok();
            async move { text.filter(|t| t.contains(what)) }
        })
    };
    let text = logged("webhook created").await;
    for secret in [whatsapp::VERIFY_TOKEN, QUERY_SECRET, API_TOKEN] {
        assert!(!text.contains(secret), "{secret:?} was logged");
    }
    let text = logged("without a valid API token").await;
    drop(server);
    let _ = std::fs::remove_file(&path);
    for secret in [whatsapp::VERIFY_TOKEN, QUERY_SECRET, API_TOKEN] {
        assert!(!text.contains(secret), "{secret:?} was logged");
    }
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(
        errors.is_empty(),
        "client errors logged as errors: {errors:?}"
    );
    let refusals = lines
        .iter()
        .filter(|l| l["level"] == "WARN" && message(l).contains("without a valid API token"))
        .count();
    assert_eq!(refusals, 1, "five refused calls, one rate-limited warning");
    assert!(
        lines.iter().any(|l| message(l) == "webhook created"),
        "the webhook's creation is logged (without its query string)"
    );
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

async fn create_whatsapp(channels: &mut Channels, graph: &str) -> String {
    let credentials = [
        ("access_token", whatsapp::ACCESS_TOKEN),
        ("app_secret", whatsapp::APP_SECRET),
        ("verify_token", whatsapp::VERIFY_TOKEN),
        (
            "phone_number_id",
            omnibus_whatsapp_standin::webhook::PHONE_NUMBER_ID,
        ),
    ];
    channels
        .create_channel(CreateChannelRequest {
            kind: ChannelKind::Whatsapp as i32,
            credentials: credentials
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            api_base_url: graph.to_owned(),
            ..Default::default()
        })
        .await
        .expect("create a whatsapp channel")
        .into_inner()
        .id
}
