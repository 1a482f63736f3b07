//! Timer settings the API refuses, storing nothing.

use omnibus_proto::{ChannelSettings, ListChannelsRequest, Schedule};
use omnibus_tests::Sandbox;
use tonic::Code;

use super::telegram_channel;

#[tokio::test]
async fn invalid_timer_settings_are_refused_and_nothing_is_stored() {
    let sandbox = Sandbox::start().await;
    let mut channels = sandbox.channels().await;
    let before = sandbox.stream_messages().await;
    let zone = |timezone: &str| Schedule {
        timezone: timezone.into(),
        ..Default::default()
    };
    let cases = [
        (
            ChannelSettings {
                inactivity_close_seconds: Some(0),
                ..Default::default()
            },
            "inactivity_close_seconds",
        ),
        (
            ChannelSettings {
                closing_message: "x".repeat(251),
                ..Default::default()
            },
            "251",
        ),
        (
            ChannelSettings {
                schedule: Some(zone("Mars/Olympus")),
                ..Default::default()
            },
            "Mars/Olympus",
        ),
    ];
    for (settings, named) in cases {
        let err = channels
            .create_channel(telegram_channel(settings))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().contains(named),
            "{:?} names {named}",
            err.message()
        );
    }
    let listed = channels
        .list_channels(ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.channels.is_empty(), "no channel stored");
    assert_eq!(sandbox.stream_messages().await, before, "no event stored");
}
