//! `omnictl messages …`: list a conversation's messages and send one.

use omnibus_proto::{Attachment, AttachmentKind, ListMessagesRequest, SendMessageRequest};

use crate::cli::{MessageSendArgs, MessagesCmd, PageArgs};
use crate::client::{Api, collect_pages, or_empty};
use crate::json;
use crate::output::{self, Output};

/// File extensions sent as images; anything else goes as a document.
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "gif", "webp"];

/// Runs one `messages` subcommand.
pub async fn run(api: &Api, cmd: MessagesCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        MessagesCmd::List {
            conversation_id,
            page,
        } => list(api, conversation_id, page, out).await,
        MessagesCmd::Send(args) => send(api, args, out).await,
        // Plain HTTP with the token: `run_command` routes it to
        // `media::download` before any gRPC connection is made.
        MessagesCmd::Media(_) => anyhow::bail!("messages media is not a gRPC command"),
    }
}

async fn list(
    api: &Api,
    conversation_id: String,
    page: PageArgs,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    let client = api.conversations();
    let page_size = page.page_size.unwrap_or(0);
    let (messages, next) = collect_pages(page.page_token, page.all, |page_token| {
        let mut client = client.clone();
        let request = ListMessagesRequest {
            conversation_id: conversation_id.clone(),
            page_size,
            page_token,
        };
        async move {
            let page = client.list_messages(request).await?.into_inner();
            Ok((page.messages, page.next_page_token))
        }
    })
    .await?;
    out.emit(
        || {
            json::page(
                "messages",
                messages.iter().map(json::message).collect(),
                &next,
            )
        },
        || output::message_table(&messages) + &output::next_page_hint(&next),
    )?;
    Ok(())
}

async fn send(api: &Api, args: MessageSendArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let request = send_request(args);
    let message = api
        .conversations()
        .send_message(request)
        .await?
        .into_inner();
    out.emit(
        || json::message(&message),
        || output::message_block(&message),
    )?;
    Ok(())
}

/// Builds the `SendMessage` request (`Cli::validate` has checked that it
/// has text or attachments).
pub fn send_request(args: MessageSendArgs) -> SendMessageRequest {
    SendMessageRequest {
        conversation_id: args.conversation_id,
        text: or_empty(args.text),
        attachments: args
            .attach_urls
            .iter()
            .map(|url| attachment_for_url(url))
            .collect(),
        reply_to_message_id: or_empty(args.reply_to),
        template: args.template.to_ref(),
        idempotency_key: or_empty(args.idempotency_key),
        operator_id: or_empty(args.operator),
        ..SendMessageRequest::default()
    }
}

/// Builds an outbound attachment sent by URL, its kind guessed from the
/// file extension and its file name taken from the last path segment.
pub fn attachment_for_url(url: &str) -> Attachment {
    let file_name = file_name(url);
    Attachment {
        kind: guess_kind(&file_name).into(),
        url: url.to_owned(),
        file_name,
        ..Default::default()
    }
}

/// Returns IMAGE for jpg/jpeg/png/gif/webp (any case), DOCUMENT otherwise.
pub fn guess_kind(file_name: &str) -> AttachmentKind {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    if IMAGE_EXTENSIONS.contains(&extension.as_str()) {
        AttachmentKind::Image
    } else {
        AttachmentKind::Document
    }
}

/// The last path segment of a URL, without its query or fragment.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = match path.split_once("://") {
        Some((_scheme, after)) => after.split_once('/').map_or("", |(_host, path)| path),
        None => path,
    };
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_guessed_from_the_extension() {
        for url in [
            "https://cdn.example/a.jpg",
            "https://cdn.example/b.JPEG",
            "https://cdn.example/c.png?sig=1",
            "https://cdn.example/d.gif#x",
            "https://cdn.example/e.webp",
        ] {
            assert_eq!(
                attachment_for_url(url).kind(),
                AttachmentKind::Image,
                "{url}"
            );
        }
    }

    #[test]
    fn everything_else_is_a_document() {
        for url in [
            "https://cdn.example/invoice.pdf",
            "https://cdn.example/photo.jpg.zip",
            "https://cdn.example/noext",
            "https://cdn.example.png/",
            "https://cdn.example/?f=a.png",
        ] {
            assert_eq!(
                attachment_for_url(url).kind(),
                AttachmentKind::Document,
                "{url}"
            );
        }
    }

    #[test]
    fn the_file_name_is_the_last_path_segment() {
        let a = attachment_for_url("https://cdn.example/files/Invoice%2042.pdf?x=1");
        assert_eq!(a.file_name, "Invoice%2042.pdf");
        assert_eq!(a.url, "https://cdn.example/files/Invoice%2042.pdf?x=1");
    }

    fn send_args(text: Option<&str>, urls: &[&str]) -> MessageSendArgs {
        MessageSendArgs {
            conversation_id: "cv_1".to_owned(),
            text: text.map(str::to_owned),
            reply_to: Some("m_1".to_owned()),
            idempotency_key: Some("k1".to_owned()),
            operator: None,
            attach_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            template: Default::default(),
        }
    }

    #[test]
    fn send_carries_every_flag() {
        let request = send_request(send_args(Some("Hi"), &["https://x.example/a.png"]));
        assert_eq!(request.text, "Hi");
        assert_eq!(request.attachments.len(), 1);
        assert_eq!(request.reply_to_message_id, "m_1");
        assert_eq!(request.idempotency_key, "k1");
        assert_eq!(request.operator_id, "");
    }
}
