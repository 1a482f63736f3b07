//! Outbound messages on windowed channels (WhatsApp, Instagram) ask the
//! window service first, so an operator hears at once that free text cannot
//! go out, instead of finding a FAILED message later.

use std::time::Duration;

use async_nats::RequestErrorKind;
use omnibus_proto::{
    AuthorKind, ChannelKind, TemplateRef, WindowCheckReply, WindowCheckRequest,
    window_check_reply::Outcome,
};
use prost::Message as _;

use super::Commands;
use crate::error::{Result, ServiceError};

/// How long SendMessage waits for the window service's answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the window service allows for one message.
pub(super) struct Verdict {
    /// The message will be held until the customer answers the template.
    pub held: bool,
    /// The template with its language filled in.
    pub template: Option<TemplateRef>,
    /// The template's text, for the history.
    pub rendered_text: String,
}

impl Commands {
    /// Asks the window service whether a message may go out and how.
    pub(super) async fn check_window(
        &self,
        conversation_id: &str,
        channel_id: &str,
        kind: ChannelKind,
        template: Option<TemplateRef>,
    ) -> Result<Verdict> {
        let request = WindowCheckRequest {
            conversation_id: conversation_id.to_owned(),
            channel_id: channel_id.to_owned(),
            channel_kind: kind as i32,
            template,
            author_kind: AuthorKind::Operator as i32,
        };
        let subject = self.bus.subjects().rpc("window.check");
        let request = async_nats::Request::new()
            .payload(request.encode_to_vec().into())
            .timeout(Some(CHECK_TIMEOUT));
        let answer = match self.bus.client().send_request(subject, request).await {
            Ok(answer) => answer,
            Err(err) if err.kind() == RequestErrorKind::NoResponders => {
                return Err(ServiceError::Unavailable(
                    "no window service is running to check the 24-hour window; start \
                     `omnibus serve window` (or `omnibus serve all`)"
                        .into(),
                ));
            }
            Err(err) => {
                return Err(ServiceError::Unavailable(format!(
                    "the window service did not answer: {err}"
                )));
            }
        };
        let reply = WindowCheckReply::decode(answer.payload).map_err(|e| {
            ServiceError::Unavailable(format!("the window service answered garbage: {e}"))
        })?;
        verdict(reply)
    }
}

/// The window service's answer as a verdict or the error the caller sees.
fn verdict(reply: WindowCheckReply) -> Result<Verdict> {
    let allowed = |held| Verdict {
        held,
        template: reply.template.clone(),
        rendered_text: reply.rendered_text.clone(),
    };
    match Outcome::try_from(reply.outcome) {
        Ok(Outcome::Open | Outcome::Template) => Ok(allowed(false)),
        Ok(Outcome::Hold) => Ok(allowed(true)),
        Ok(Outcome::Refused) => Err(ServiceError::FailedPrecondition(reply.message)),
        Ok(Outcome::Invalid) => Err(ServiceError::InvalidArgument(reply.message)),
        _ => Err(ServiceError::Unavailable(format!(
            "the window service gave no decision: {}",
            reply.message
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceError;

    fn reply(outcome: Outcome, message: &str) -> WindowCheckReply {
        WindowCheckReply {
            outcome: outcome as i32,
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn decisions_map_to_the_callers_errors() {
        assert!(!verdict(reply(Outcome::Open, "")).unwrap().held);
        assert!(verdict(reply(Outcome::Hold, "")).unwrap().held);
        let refused = verdict(reply(Outcome::Refused, "window closed"))
            .err()
            .unwrap();
        assert!(matches!(refused, ServiceError::FailedPrecondition(m) if m == "window closed"));
        let invalid = verdict(reply(Outcome::Invalid, "{{2}} missing"))
            .err()
            .unwrap();
        assert!(matches!(invalid, ServiceError::InvalidArgument(_)));
        let unknown = verdict(reply(Outcome::Unspecified, "")).err().unwrap();
        assert!(matches!(unknown, ServiceError::Unavailable(_)));
    }
}
