//! Credentials at rest (`OMNIBUS_CREDENTIALS_KEY`): a channel's credentials
//! never reach the JetStream store or the SQLite file in the clear, the
//! channel still works (webhook verified, sends go out), and after a second
//! key is put in front, the events the first one sealed still read.

use omnibus_proto::UpdateChannelRequest;
use omnibus_server::config::ENV_CREDENTIALS_KEY;
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};

use crate::support::{PATIENCE, files_containing, send_text, sqlite_dir, wait_for_conversations};

pub const K1: &str = "k1:JSgc6ikZ+eNPTCRE6B3mThCkl4ZDjnWOzNjT3P3Lur8=";
const K2: &str = "k2:dbSAArGbkfkUIRu1u9V/faT9y4oS6l34ejzC9TTzXGU=";
/// The token `Sandbox::telegram_channel` creates channels with.
const BOT_TOKEN: &str = "7000000001:AAE-test_token";
const SECRET: &str = "sealed-secret-9f3a7c";
const NEW_SECRET: &str = "rotated-secret-51d0e2";

#[tokio::test]
async fn credentials_are_sealed_at_rest_and_old_keys_still_read() {
    let mut sandbox = Sandbox::start_with(SandboxOptions {
        env: vec![(ENV_CREDENTIALS_KEY, K1.to_owned())],
        ..Default::default()
    })
    .await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let wrong = telegram::post_update(&client, &url, &channel.id, "not-it", &update(1)).await;
    assert!(wrong.is_client_error(), "a wrong secret gets {wrong}");
    let right = telegram::post_update(&client, &url, &channel.id, SECRET, &update(1)).await;
    assert_eq!(right, reqwest::StatusCode::OK, "the sealed secret verifies");
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    send_and_expect(&sandbox, &conversation.id, "first reply").await;

    wait_until("the sealed snapshot on disk", PATIENCE, || async {
        let found = files_containing(sandbox.nats.store_dir(), "enc:v1:k1:");
        (!found.is_empty()).then_some(())
    })
    .await;
    assert_nowhere_on_disk(&sandbox, &[BOT_TOKEN, SECRET]);

    // Without the key that sealed them, the credentials stay sealed and
    // the webhook fails closed.
    sandbox.stop_server().await;
    sandbox.set_env(ENV_CREDENTIALS_KEY, K2);
    sandbox.start_server().await;
    let url = sandbox.http_url();
    let locked = telegram::post_update(&client, &url, &channel.id, SECRET, &update(2)).await;
    assert!(
        locked.is_client_error(),
        "without k1 the webhook gets {locked}"
    );

    // Rotation: k2 seals from now on, k1 still opens what it sealed.
    sandbox.stop_server().await;
    sandbox.set_env(ENV_CREDENTIALS_KEY, format!("{K2},{K1}"));
    sandbox.start_server().await;
    let url = sandbox.http_url();
    let old = telegram::post_update(&client, &url, &channel.id, SECRET, &update(2)).await;
    assert_eq!(
        old,
        reqwest::StatusCode::OK,
        "k1's snapshot opens after rotation"
    );
    send_and_expect(&sandbox, &conversation.id, "after rotation").await;
    sandbox
        .channels()
        .await
        .update_channel(UpdateChannelRequest {
            id: channel.id.clone(),
            credentials: [("secret_token".to_owned(), NEW_SECRET.to_owned())].into(),
            ..Default::default()
        })
        .await
        .expect("update the secret under k2");
    let stale = telegram::post_update(&client, &url, &channel.id, SECRET, &update(3)).await;
    assert!(stale.is_client_error(), "the replaced secret gets {stale}");
    let new = telegram::post_update(&client, &url, &channel.id, NEW_SECRET, &update(3)).await;
    assert_eq!(new, reqwest::StatusCode::OK);
    wait_until("k2's snapshot on disk", PATIENCE, || async {
        let found = files_containing(sandbox.nats.store_dir(), "enc:v1:k2:");
        (!found.is_empty()).then_some(())
    })
    .await;
    assert_nowhere_on_disk(&sandbox, &[BOT_TOKEN, SECRET, NEW_SECRET]);
}

fn update(update_id: i64) -> serde_json::Value {
    telegram::text_update(update_id, 777, &format!("hello {update_id}"))
}

/// Sends `text` and waits until the stand-in got it with the channel's token.
async fn send_and_expect(sandbox: &Sandbox, conversation_id: &str, text: &str) {
    send_text(sandbox, conversation_id, text).await;
    wait_until(&format!("{text:?} at the provider"), PATIENCE, || async {
        sandbox
            .telegram
            .sent()
            .into_iter()
            .find(|r| r.body["text"] == text)
    })
    .await
    .token
    .eq(BOT_TOKEN)
    .then_some(())
    .expect("sent with the channel's token");
}

/// Neither the JetStream store nor the SQLite files hold any of `secrets`.
pub fn assert_nowhere_on_disk(sandbox: &Sandbox, secrets: &[&str]) {
    for secret in secrets {
        for dir in [sandbox.nats.store_dir().to_owned(), sqlite_dir(sandbox)] {
            let found = files_containing(&dir, secret);
            assert!(found.is_empty(), "{secret:?} in the clear in {found:?}");
        }
    }
}
