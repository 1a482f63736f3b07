//! The channel directory on a real nats-server: a snapshot this process
//! published counts at once, before the background reader has seen it.

use omnibus_bus::{Bus, BusConfig};
use omnibus_ingress::ChannelDirectory;
use omnibus_proto::{
    ChannelChanged, ChannelKind, ChannelState, ChannelStatus, Event, event::Payload,
};
use omnibus_testkit::NatsServer;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "ch_directory1";

fn snapshot(secret: &str) -> Event {
    let state = ChannelState {
        id: CHANNEL.to_owned(),
        kind: ChannelKind::Telegram as i32,
        status: ChannelStatus::Active as i32,
        credentials: [("secret_token".to_owned(), secret.to_owned())].into(),
        ..Default::default()
    };
    Event {
        id: format!("ev_{secret}"),
        channel_id: CHANNEL.to_owned(),
        payload: Some(Payload::ChannelChanged(ChannelChanged {
            change: 0,
            state: Some(state),
        })),
        ..Default::default()
    }
}

fn secret(state: Option<std::sync::Arc<ChannelState>>) -> String {
    let state = state.expect("the channel is found");
    state.credentials["secret_token"].clone()
}

#[tokio::test]
async fn a_snapshot_published_here_is_seen_before_the_reader_catches_up() {
    let nats = NatsServer::start().await;
    let bus = Bus::connect(&BusConfig {
        nats_url: nats.url(),
        ..BusConfig::default()
    })
    .await
    .expect("connect the bus");
    // A directory whose background reader never runs: only what lookups
    // read from the stream reaches it.
    let stopped = CancellationToken::new();
    stopped.cancel();
    let directory = ChannelDirectory::start(bus.clone(), ChannelKind::Telegram, stopped);
    let subject = bus.subjects().channel(CHANNEL);

    bus.publish(subject.clone(), &snapshot("first"))
        .await
        .expect("publish");
    assert_eq!(secret(directory.get(CHANNEL).await.unwrap()), "first");
    bus.publish(subject, &snapshot("second"))
        .await
        .expect("publish");
    assert_eq!(
        secret(directory.get(CHANNEL).await.unwrap()),
        "second",
        "the replaced secret is not served from the held copy"
    );
}
