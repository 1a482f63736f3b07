//! One customer across channels: identities with one phone join, operators
//! merge the rest, and a rebuild from the stream gives the same contacts.

use omnibus_proto::{
    Contact, FindContactsRequest, GetContactRequest, ListContactConversationsRequest,
    ListContactsRequest, MergeContactsRequest, StringList, UpdateContactRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, telegram};
use serde_json::json;

use crate::support::{PATIENCE, wait_for_conversations};

mod join;
mod start;

const SECRET: &str = "s3cr3t-Value_42";

/// Every contact, following pages.
async fn all_contacts(sandbox: &Sandbox) -> Vec<Contact> {
    let mut client = sandbox.contacts().await;
    let (mut all, mut token) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_contacts(ListContactsRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list contacts")
            .into_inner();
        all.extend(page.contacts);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// A Telegram user (private chat `user_id`) writes `text`.
async fn telegram_writes(
    sandbox: &Sandbox,
    channel_id: &str,
    update_id: i64,
    user_id: i64,
    name: &str,
) {
    let mut update = telegram::text_update(update_id, user_id, "hello");
    update["message"]["from"]["first_name"] = json!(name);
    update["message"]["chat"]["first_name"] = json!(name);
    let status = telegram::post_update(
        &reqwest::Client::new(),
        &sandbox.http_url(),
        channel_id,
        SECRET,
        &update,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn merged_contacts_survive_a_rebuild_from_the_stream() {
    merge_then_rebuild(false).await;
}

#[tokio::test]
async fn merged_contacts_survive_a_postgres_rebuild_from_the_stream() {
    merge_then_rebuild(true).await;
}

async fn merge_then_rebuild(postgres: bool) {
    let mut sandbox = Sandbox::start_with(omnibus_tests::SandboxOptions {
        postgres,
        ..Default::default()
    })
    .await;
    let channel = sandbox.telegram_channel(SECRET).await;
    telegram_writes(&sandbox, &channel.id, 1, 100, "Ivan").await;
    telegram_writes(&sandbox, &channel.id, 2, 200, "Vanya").await;
    telegram_writes(&sandbox, &channel.id, 3, 300, "Olga").await;
    let conversations = wait_for_conversations(&sandbox, 3).await;
    let contacts = all_contacts(&sandbox).await;
    assert_eq!(contacts.len(), 3, "one contact per customer so far");
    let id_of = |name: &str| {
        contacts
            .iter()
            .find(|c| c.display_name.starts_with(name))
            .map(|c| c.id.clone())
            .unwrap()
    };
    let (ivan, vanya) = (id_of("Ivan"), id_of("Vanya"));

    let mut api = sandbox.contacts().await;
    let merged = api
        .merge_contacts(MergeContactsRequest {
            into_id: ivan.clone(),
            from_id: vanya.clone(),
            operator_id: "op-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(merged.id, ivan);
    assert_eq!(merged.identities.len(), 2, "{merged:?}");
    let via_old_id = api
        .get_contact(GetContactRequest { id: vanya.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(via_old_id, merged, "the merged-away id keeps resolving");
    let updated = api
        .update_contact(UpdateContactRequest {
            id: vanya.clone(),
            display_name: Some("Ivan Petrov".into()),
            phones: Some(StringList {
                values: vec!["8 (912) 345-67-89".into()],
            }),
            emails: Some(StringList {
                values: vec!["Ivan@Example.com".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.id, ivan);
    assert_eq!(updated.display_name, "Ivan Petrov");
    assert_eq!(updated.phones, ["+79123456789"]);
    assert_eq!(updated.emails, ["ivan@example.com"]);
    let found = api
        .find_contacts(FindContactsRequest {
            query: "+7 912 345 67 89".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .contacts;
    assert_eq!(
        found,
        std::slice::from_ref(&updated),
        "found by the phone in another form"
    );
    let his = api
        .list_contact_conversations(ListContactConversationsRequest {
            contact_id: vanya.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conversations;
    assert_eq!(his.len(), 2);
    assert!(his.iter().all(|c| c.contact_id == ivan), "{his:?}");
    let bad = api
        .update_contact(UpdateContactRequest {
            id: ivan.clone(),
            emails: Some(StringList {
                values: vec!["not an email".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let before = (all_contacts(&sandbox).await, conversations.len());
    sandbox.stop_server().await;
    sandbox.db.drop_all().await;
    sandbox.start_server().await;
    let after = wait_until("the rebuilt contacts", PATIENCE, || async {
        let after = (
            all_contacts(&sandbox).await,
            wait_for_conversations(&sandbox, 3).await.len(),
        );
        (after == before).then_some(after)
    })
    .await;
    assert_eq!(after.0.len(), 2, "Ivan (with Vanya) and Olga");
}
