//! One trace across services: an OTLP collector stand-in receives the spans
//! of `serve conversations` and `serve ingress-telegram`, two processes, and
//! the operator's SendMessage and the Telegram send share one trace id
//! (carried over NATS in the event's headers).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use omnibus_proto::{
    ChannelKind, CreateChannelRequest, MessageStatus, SendMessageRequest,
    channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

use crate::support::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");
const SECRET: &str = "tracing-secret";

/// A span as the collector got it: its service, name and trace id.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
}

/// An OTLP/gRPC collector that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        service: service.clone(),
                        name: span.name,
                        trace_id: span.trace_id,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_collector() -> (Collector, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (collector, address)
}

#[tokio::test]
async fn a_send_is_one_trace_from_the_api_to_the_provider_across_two_services() {
    let (collector, address) = start_collector().await;
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let mut env = sandbox.env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{address}")));
    let conversations = ChildServer::start_service(BINARY, "conversations", &env).await;
    let ingress = ChildServer::start_service(BINARY, "ingress-telegram", &env).await;

    let mut channels = ChannelServiceClient::connect(conversations.grpc_url())
        .await
        .unwrap();
    let channel_id = channels
        .create_channel(CreateChannelRequest {
            kind: ChannelKind::Telegram as i32,
            credentials: [
                ("bot_token".to_owned(), "7000000001:AAE-trace".to_owned()),
                ("secret_token".to_owned(), SECRET.to_owned()),
            ]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let update = telegram::text_update(1, 4242, "Is anyone there?");
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &ingress.http_url(), &channel_id, SECRET, &update).await;
    assert_eq!(status, 200);
    let conversation_id = omnibus_core::ids::conversation_id(&channel_id, "4242");
    let mut api = ConversationServiceClient::connect(conversations.grpc_url())
        .await
        .unwrap();
    let sent = wait_until("the reply accepted", PATIENCE, || {
        let mut api = api.clone();
        let request = SendMessageRequest {
            conversation_id: conversation_id.clone(),
            text: "Yes, how can I help?".into(),
            idempotency_key: "trace-1".into(),
            ..Default::default()
        };
        async move { api.send_message(request).await.ok() }
    })
    .await
    .into_inner();
    wait_until("SENT", PATIENCE, || {
        let mut api = api.clone();
        let id = sent.id.clone();
        let conversation_id = conversation_id.clone();
        async move {
            let messages = api
                .list_messages(omnibus_proto::ListMessagesRequest {
                    conversation_id,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner()
                .messages;
            messages
                .iter()
                .any(|m| m.id == id && m.status() == MessageStatus::Sent)
                .then_some(())
        }
    })
    .await;
    let _ = &mut api;

    // The batch exporter sends every few seconds; poll what arrived.
    let shared = wait_until("spans of both services in one trace", PATIENCE, || async {
        let spans = collector.0.lock().unwrap().clone();
        // SendMessage may have been called more than once (retried until
        // the conversation existed): any of the calls will do.
        let calls: Vec<&Received> = spans
            .iter()
            .filter(|s| s.service == "omnibus-conversations" && s.name == "send_message")
            .collect();
        spans
            .iter()
            .find(|s| {
                s.service == "omnibus-ingress-telegram"
                    && s.name == "consume"
                    && calls.iter().any(|call| call.trace_id == s.trace_id)
            })
            .cloned()
    })
    .await;
    assert_eq!(shared.trace_id.len(), 16, "a real trace id");
}
