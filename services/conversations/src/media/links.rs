//! Attachments' `url` in API answers: `/media/<message_id>/<n>`, absolute
//! under `OMNIBUS_PUBLIC_URL` when set, for every attachment that is a file.

use std::sync::Arc;

use omnibus_proto::Message;

/// Rewrites attachment links to `GET /media`.
#[derive(Debug, Clone, Default)]
pub struct MediaLinks {
    /// The public base URL without a trailing slash; empty for a path.
    base: Arc<str>,
}

impl MediaLinks {
    /// Links under `public_url` (`OMNIBUS_PUBLIC_URL`), or bare paths.
    pub fn new(public_url: Option<&str>) -> Self {
        Self {
            base: public_url.unwrap_or_default().trim_end_matches('/').into(),
        }
    }

    /// The link of attachment `index` of `message_id`.
    pub fn link(&self, message_id: &str, index: usize) -> String {
        format!("{}/media/{message_id}/{index}", self.base)
    }

    /// `message` with its file attachments pointing to `GET /media`.
    pub fn apply(&self, mut message: Message) -> Message {
        for (index, attachment) in message.attachments.iter_mut().enumerate() {
            if omnibus_core::kind::has_file(attachment) {
                attachment.url = self.link(&message.id, index);
            }
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use omnibus_proto::{Attachment, AttachmentKind};

    use super::*;

    #[test]
    fn files_point_to_media_and_locations_keep_no_link() {
        let message = Message {
            id: "msg_1".into(),
            attachments: vec![
                Attachment {
                    kind: AttachmentKind::Image as i32,
                    provider_file_id: "AgAD".into(),
                    ..Default::default()
                },
                Attachment {
                    kind: AttachmentKind::Location as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let linked = MediaLinks::new(Some("https://omni.example.com/")).apply(message.clone());
        assert_eq!(
            linked.attachments[0].url,
            "https://omni.example.com/media/msg_1/0"
        );
        assert_eq!(linked.attachments[1].url, "");
        let bare = MediaLinks::new(None).apply(message);
        assert_eq!(bare.attachments[0].url, "/media/msg_1/0");
    }
}
