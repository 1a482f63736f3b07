//! The contacts pages in Chromium: a Telegram customer found by search,
//! renamed and given a phone (a bad phone refused in the API's words), and
//! linked both ways with their conversation; two contacts of one person
//! merged from the suggested duplicates.

use omnibus_proto::{Contact, GetContactRequest, ListContactsRequest};
use omnibus_tests::Sandbox;
use omnibus_tests::browser::Browser;
use omnibus_tests::telegram::post_update;

use super::{SECRET, assert_no_console_errors, customer_update, sign_in};
use crate::support::wait_for_conversations;

/// Customers `(chat id, first name, last name)` write on a new Telegram
/// channel; returns once each has a conversation.
async fn customers_write(sandbox: &Sandbox, customers: &[(i64, &str, &str)]) {
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    for (update_id, (chat, first, last)) in (1..).zip(customers) {
        let body = customer_update(update_id, *chat, first, last, "Hello!");
        let status = post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &body).await;
        assert_eq!(status, 200);
    }
    wait_for_conversations(sandbox, customers.len()).await;
}

async fn contacts(sandbox: &Sandbox) -> Vec<Contact> {
    let request = ListContactsRequest {
        page_size: 100,
        ..Default::default()
    };
    let mut api = sandbox.contacts().await;
    api.list_contacts(request)
        .await
        .expect("list contacts")
        .into_inner()
        .contacts
}

async fn contact(sandbox: &Sandbox, id: &str) -> Contact {
    let request = GetContactRequest { id: id.to_owned() };
    let mut api = sandbox.contacts().await;
    api.get_contact(request)
        .await
        .expect("get contact")
        .into_inner()
}

#[tokio::test]
async fn an_operator_finds_a_telegram_customer_renames_them_and_adds_a_phone() {
    let sandbox = Sandbox::start().await;
    let http = sandbox.http_url();
    customers_write(
        &sandbox,
        &[(6101, "Maria", "Ivanova"), (6102, "Oleg", "Smirnov")],
    )
    .await;
    let conversation = crate::support::all_conversations(&sandbox)
        .await
        .into_iter()
        .find(|c| c.title == "Maria Ivanova")
        .expect("maria's conversation");

    let browser = Browser::start(1280, 800).await;
    sign_in(&browser, &http, "alice", "").await;
    browser.find("#conversation-list").await;
    browser.click("nav a[href='/console/contacts']").await;
    browser.wait_text("#contacts", "Maria Ivanova").await;
    browser.wait_text("#contacts", "Oleg Smirnov").await;

    // The search narrows the list, and says when nobody matches.
    browser.fill("#contact-q", "nobody like this").await;
    browser.click("#contact-search").await;
    browser.wait_text("#no-contacts", "No contacts match").await;
    browser.fill("#contact-q", "ivanova").await;
    browser.click("#contact-search").await;
    browser.wait_text("#contacts", "Maria Ivanova").await;
    let rows = browser
        .script("return document.querySelectorAll('#contacts tr[data-contact]').length;")
        .await;
    assert_eq!(rows, 1, "only Maria matches");

    // Her page: the Telegram identity and the conversation.
    browser.click("#contacts tr[data-contact] a").await;
    browser.wait_text("#contact-name", "Maria Ivanova").await;
    browser.wait_text("#identities", "Maria Ivanova").await;
    let id = browser.text("#contact-id").await;
    browser
        .find(&format!(
            "#contact-conversations a[data-conversation='{}']",
            conversation.id
        ))
        .await;

    // Rename her and add a phone written as people write it.
    browser.fill("#display_name", "Maria Petrova").await;
    browser.fill("#phones", "+7 (912) 345-67-89").await;
    browser.click("#save-contact").await;
    browser.wait_text(".notice", "Saved Maria Petrova.").await;
    browser.wait_text("#contact-name", "Maria Petrova").await;
    browser.wait_text("#contact-phones", "+79123456789").await;
    let saved = contact(&sandbox, &id).await;
    assert_eq!(saved.display_name, "Maria Petrova");
    assert_eq!(saved.phones, ["+79123456789"]);

    // A phone the API refuses comes back in its own words; nothing changes.
    browser.fill("#phones", "call me maybe").await;
    browser.click("#save-contact").await;
    browser.wait_text(".notice", "Not saved: phones[0]").await;
    assert_eq!(contact(&sandbox, &id).await.phones, ["+79123456789"]);

    // The list shows the new name; the conversation links back to her.
    browser.goto(&format!("{http}/console/contacts")).await;
    browser.wait_text("#contacts", "Maria Petrova").await;
    browser.goto(&format!("{http}/console/contacts/{id}")).await;
    browser
        .click(&format!(
            "#contact-conversations a[data-conversation='{}']",
            conversation.id
        ))
        .await;
    browser.find("#conversation-title").await;
    browser.click("#conversation-contact").await;
    browser.wait_text("#contact-name", "Maria Petrova").await;
    browser.screenshot("contact").await;
    assert_no_console_errors(&browser).await;
}

#[tokio::test]
async fn an_operator_merges_a_duplicate_contact() {
    let sandbox = Sandbox::start().await;
    let http = sandbox.http_url();
    // One person from two Telegram accounts: nothing joins them by phone.
    customers_write(&sandbox, &[(6201, "Ann", "Lee"), (6202, "Ann", "Lee")]).await;
    let mut ids: Vec<String> = contacts(&sandbox).await.into_iter().map(|c| c.id).collect();
    ids.sort();
    let [into, from] = <[String; 2]>::try_from(ids).expect("two contacts");

    let browser = Browser::start(1280, 800).await;
    sign_in(&browser, &http, "alice", "").await;
    browser.find("#conversation-list").await;
    browser
        .goto(&format!("{http}/console/contacts/{into}"))
        .await;
    browser.wait_text("#contact-name", "Ann Lee").await;
    let duplicate = format!("#duplicates li[data-duplicate='{from}']");
    browser.wait_text(&duplicate, "Ann Lee").await;

    // An unknown id is refused in the API's words.
    browser.fill("#merge-from", "ct_nobody").await;
    browser.click("#merge").await;
    browser
        .wait_text(".notice", "Not merged: contact \"ct_nobody\" not found")
        .await;

    // The suggested duplicate joins: both channels, both conversations.
    browser.click(&format!("{duplicate} button")).await;
    browser
        .wait_text(".notice", "Merged Ann Lee into Ann Lee.")
        .await;
    browser
        .wait_script(
            "two identities and two conversations on one contact",
            "return document.querySelectorAll('#identities tbody tr').length === 2 && \
             document.querySelectorAll('#contact-conversations a.row').length === 2 && \
             !document.querySelector('#duplicates');",
        )
        .await;
    let merged = contact(&sandbox, &from).await;
    assert_eq!(merged.id, into, "the merged-away id leads to the contact");
    assert_eq!(merged.identities.len(), 2);
    assert_eq!(contacts(&sandbox).await.len(), 1);

    // An old link to the merged-away contact opens the merged one.
    browser
        .goto(&format!("{http}/console/contacts/{from}"))
        .await;
    browser.wait_text("#main", "is part of this contact").await;
    assert_eq!(browser.text("#contact-id").await, into);
    assert_no_console_errors(&browser).await;
}
