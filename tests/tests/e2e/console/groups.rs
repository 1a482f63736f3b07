//! The operator groups page in Chromium: a team lead creates a group, sees
//! it listed with its operators, is refused a taken id and a bad one (the
//! latter in the API's words), renames the group and deletes it.

use omnibus_proto::operator_service_client::OperatorServiceClient;
use omnibus_proto::{Group, GroupRule, ListGroupsRequest};
use omnibus_tests::Sandbox;
use omnibus_tests::browser::Browser;

use super::{assert_no_console_errors, sign_in};

async fn groups(sandbox: &Sandbox) -> Vec<Group> {
    let mut api = OperatorServiceClient::connect(sandbox.grpc_url())
        .await
        .expect("operator service");
    api.list_groups(ListGroupsRequest {})
        .await
        .expect("list groups")
        .into_inner()
        .groups
}

#[tokio::test]
async fn a_team_lead_creates_renames_and_deletes_a_group() {
    let sandbox = Sandbox::start().await;
    let http = sandbox.http_url();
    let browser = Browser::start(1280, 800).await;
    sign_in(&browser, &http, "alice", "").await;
    browser.find("#conversation-list").await;
    browser.click("nav a[href='/console/groups']").await;
    browser.wait_text("#no-groups", "No groups yet").await;

    // Create: listed with its rule and operators, stored as given.
    browser.fill("#group-id", "billing").await;
    browser.fill("#group-name", "Billing").await;
    browser
        .script("document.getElementById('group-rule').value = 'GROUP_RULE_LEAST_BUSY';")
        .await;
    browser.fill("#group-operators", "alice, bob").await;
    browser.click("#save-group").await;
    browser.wait_text(".notice", "Created group Billing.").await;
    let row = "#groups tr[data-group=billing]";
    browser.wait_text(row, "Least busy first").await;
    let listed = browser.text(row).await;
    assert!(
        listed.contains("Billing") && listed.contains("alice") && listed.contains("bob"),
        "{listed}"
    );
    let stored = groups(&sandbox).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].operator_ids, ["alice", "bob"]);
    assert_eq!(stored[0].rule(), GroupRule::LeastBusy);

    // A taken id is not overwritten; a bad one is refused by the API.
    browser.fill("#group-id", "billing").await;
    browser.fill("#group-name", "Other team").await;
    browser.click("#save-group").await;
    browser
        .wait_text(
            ".notice",
            "Not saved: a group with id billing already exists",
        )
        .await;
    browser.fill("#group-id", "bad id!").await;
    browser.click("#save-group").await;
    browser
        .wait_text(".notice", "Not saved: id is required: up to 64 letters")
        .await;
    assert_eq!(groups(&sandbox).await[0].name, "Billing");

    // Rename it from its row.
    browser
        .click(&format!("{row} details.group-edit summary"))
        .await;
    browser.fill("#group-name-billing", "Billing team").await;
    browser.click("#save-group-billing").await;
    browser
        .wait_text(".notice", "Saved group Billing team.")
        .await;
    browser.wait_text(row, "Billing team").await;
    let renamed = groups(&sandbox).await;
    assert_eq!(renamed[0].name, "Billing team");
    assert_eq!(renamed[0].operator_ids, ["alice", "bob"], "members kept");
    browser.screenshot("groups").await;

    // Delete it, after the second click the disclosure asks for.
    browser
        .click(&format!("{row} details.group-delete summary"))
        .await;
    browser.click(&format!("{row} button.danger")).await;
    browser.wait_text(".notice", "Deleted group billing.").await;
    browser.wait_text("#no-groups", "No groups yet").await;
    assert!(groups(&sandbox).await.is_empty());

    // Both new pages fit a phone.
    browser.resize(390, 844).await;
    for path in ["/console/groups", "/console/contacts"] {
        browser.goto(&format!("{http}{path}")).await;
        browser.find("#main h1").await;
        let fits = browser
            .script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await;
        assert_eq!(fits, true, "{path} fits 390 px");
    }
    assert_no_console_errors(&browser).await;
}
