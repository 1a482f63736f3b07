//! Outbound webhook secrets at rest: sealed on the stream and in the
//! projection when `OMNIBUS_CREDENTIALS_KEY` is set, opened to sign.

use omnibus_notifications::webhooks::sign;
use omnibus_proto::NotificationKind;
use omnibus_server::config::ENV_CREDENTIALS_KEY;
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions};

use super::receiver::Receiver;
use super::webhooks::{HOOK_SECRET, create_webhook};
use super::{SECRET, customer_writes};
use crate::sealed::{K1, assert_nowhere_on_disk};
use crate::support::{PATIENCE, files_containing, sqlite_dir};

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_and_still_sign() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        env: vec![(ENV_CREDENTIALS_KEY, K1.to_owned())],
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start(&[], 200).await;
    create_webhook(&sandbox, &receiver, &[NotificationKind::NewConversation]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "Anyone?").await;

    let got = wait_until("a signed delivery", PATIENCE, || async {
        receiver.received().into_iter().next()
    })
    .await;
    assert!(
        sign::verify(
            HOOK_SECRET.as_bytes(),
            &got.timestamp,
            &got.body,
            &got.signature
        ),
        "signed with the opened secret: {}",
        got.signature
    );
    wait_until("the sealed secret in the database", PATIENCE, || async {
        let found = files_containing(&sqlite_dir(&sandbox), "enc:v1:k1:");
        (!found.is_empty()).then_some(())
    })
    .await;
    assert_nowhere_on_disk(&sandbox, &[HOOK_SECRET]);
}
