//! Small helpers shared by the end-to-end tests.

use std::time::Duration;

use omnibus_proto::{
    Conversation, ListConversationsRequest, ListMessagesRequest, Message, SendMessageRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;

/// How long anything asynchronous may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Every conversation, following pages.
pub async fn all_conversations(sandbox: &Sandbox) -> Vec<Conversation> {
    let mut client = sandbox.conversations().await;
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_conversations(ListConversationsRequest {
                page_size: 500,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list conversations")
            .into_inner();
        all.extend(page.conversations);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// An operator's free-text message, which must be accepted.
pub async fn send_text(sandbox: &Sandbox, conversation_id: &str, text: &str) -> Message {
    sandbox
        .conversations()
        .await
        .send_message(SendMessageRequest {
            conversation_id: conversation_id.to_owned(),
            text: text.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|status| panic!("send {text:?}: {status:?}"))
        .into_inner()
}

/// Every message of a conversation, oldest first.
pub async fn all_messages(sandbox: &Sandbox, conversation_id: &str) -> Vec<Message> {
    let mut client = sandbox.conversations().await;
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_messages(ListMessagesRequest {
                conversation_id: conversation_id.to_owned(),
                page_size: 500,
                page_token: token,
            })
            .await
            .expect("list messages")
            .into_inner();
        all.extend(page.messages);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// Waits until exactly `count` conversations exist and returns them.
pub async fn wait_for_conversations(sandbox: &Sandbox, count: usize) -> Vec<Conversation> {
    wait_until(&format!("{count} conversation(s)"), PATIENCE, || async {
        let all = all_conversations(sandbox).await;
        (all.len() == count).then_some(all)
    })
    .await
}

/// Waits until a message satisfies `done` and returns it.
pub async fn wait_for_message(
    sandbox: &Sandbox,
    conversation_id: &str,
    message_id: &str,
    what: &str,
    done: impl Fn(&Message) -> bool,
) -> Message {
    wait_until(what, PATIENCE, || async {
        all_messages(sandbox, conversation_id)
            .await
            .into_iter()
            .find(|m| m.id == message_id && done(m))
    })
    .await
}

/// Every file under `dir` that contains `needle`, recursively.
pub fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        {
            found.push(path);
        }
    }
    found
}

/// The directory of the sandbox's SQLite file (with its `-wal` and `-shm`).
pub fn sqlite_dir(sandbox: &Sandbox) -> std::path::PathBuf {
    let file = sandbox
        .db
        .url()
        .strip_prefix("sqlite://")
        .expect("a sqlite sandbox");
    std::path::Path::new(file)
        .parent()
        .expect("the sqlite file's directory")
        .to_owned()
}
