//! The egress guard end to end: a channel whose provider address is an
//! internal one not in `OMNIBUS_OUTBOUND_ALLOW` (the sandbox allows
//! 127.0.0.1/32) is refused before a request reaches it.

use omnibus_proto::{ChannelKind, CreateChannelRequest};
use omnibus_telegram_standin::StandIn;
use omnibus_tests::Sandbox;

#[tokio::test]
async fn a_channel_whose_api_base_url_is_a_refused_address_is_not_created() {
    let sandbox = Sandbox::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let internal = StandIn::serve(listener).await;
    let request = CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: [
            (
                "bot_token".to_owned(),
                "7000000001:AAE-test_token".to_owned(),
            ),
            ("secret_token".to_owned(), "s3cr3t".to_owned()),
        ]
        .into(),
        api_base_url: internal.base_url(),
        ..CreateChannelRequest::default()
    };
    let status = sandbox
        .channels()
        .await
        .create_channel(request)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            status.code(),
            tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
        ),
        "{status:?}"
    );
    assert!(
        status
            .message()
            .contains("address 127.0.0.2 is not allowed (OMNIBUS_OUTBOUND_ALLOW)"),
        "{}",
        status.message()
    );
    assert!(!status.message().contains("AAE-test_token"));
    assert!(internal.requests().is_empty(), "never reached");
}
