//! The default template of a windowed channel is checked when it is set:
//! it must be one of the channel's templates, approved, and without
//! parameters (it is sent as is to reopen a closed 24-hour window), so a
//! typo shows at update time rather than when a customer is waiting.

use std::collections::BTreeMap;

use omnibus_proto::event::Payload;
use omnibus_proto::template_changed::Change;
use omnibus_proto::{ChannelKind, ChannelSettings, TemplateStatus};

use super::Commands;
use crate::error::{Result, ServiceError};

impl Commands {
    /// Refuses a changed `default_template` that the channel cannot send.
    pub(super) async fn check_default_template(
        &self,
        channel_id: &str,
        kind: ChannelKind,
        before: &str,
        settings: &ChannelSettings,
    ) -> Result<()> {
        let name = settings.default_template.trim();
        if name.is_empty() || name == before.trim() {
            return Ok(());
        }
        if omnibus_core::kind::window(kind).is_none() {
            return Err(ServiceError::invalid(
                "default_template applies to channels with a 24-hour window (WhatsApp, \
                 Instagram) only; leave it empty",
            ));
        }
        let subject = self.bus.subjects().template(channel_id);
        let events = crate::history::read_subjects(&self.bus, vec![subject]).await?;
        let mut templates: BTreeMap<String, (TemplateStatus, String)> = BTreeMap::new();
        for (_, _, event) in events {
            let Some(Payload::TemplateChanged(changed)) = event.payload else {
                continue;
            };
            let change = changed.change();
            let Some(t) = changed.template else { continue };
            let key = format!("{}/{}", t.name, t.language);
            let status = TemplateStatus::try_from(t.status).unwrap_or(TemplateStatus::Unspecified);
            match change {
                Change::Deleted => {
                    templates.remove(&key);
                }
                Change::Status => {
                    if let Some(entry) = templates.get_mut(&key) {
                        entry.0 = status;
                    }
                }
                _ => {
                    templates.insert(key, (status, t.body));
                }
            }
        }
        let prefix = format!("{name}/");
        let named: Vec<&(TemplateStatus, String)> = templates
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(_, value)| value)
            .collect();
        verdict(name, &named)
    }
}

/// Why the templates called `name` (one per language) cannot be the default.
fn verdict(name: &str, named: &[&(TemplateStatus, String)]) -> Result<()> {
    if named.is_empty() {
        return Err(ServiceError::FailedPrecondition(format!(
            "default_template {name:?} is not a template of this channel; add it with \
             `omnictl templates upsert` or `omnictl templates sync` first"
        )));
    }
    let approved: Vec<&&(TemplateStatus, String)> = named
        .iter()
        .filter(|(status, _)| *status == TemplateStatus::Approved)
        .collect();
    if approved.is_empty() {
        let status = named[0]
            .0
            .as_str_name()
            .trim_start_matches("TEMPLATE_STATUS_");
        return Err(ServiceError::FailedPrecondition(format!(
            "default_template {name:?} is {status}, not APPROVED; only an approved template \
             can reopen the 24-hour window"
        )));
    }
    if approved.iter().all(|(_, body)| body.contains("{{")) {
        return Err(ServiceError::FailedPrecondition(format!(
            "default_template {name:?} has parameters; it is sent as is to reopen the window, \
             so choose a template without {{{{…}}}} placeholders"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_approved_template_without_parameters_will_do() {
        let err = verdict("reopen", &[]).unwrap_err().to_string();
        assert!(err.contains("not a template of this channel"), "{err}");
        let pending = (TemplateStatus::Pending, "Hi".to_owned());
        let err = verdict("reopen", &[&pending]).unwrap_err().to_string();
        assert!(err.contains("PENDING, not APPROVED"), "{err}");
        let with_params = (TemplateStatus::Approved, "Hi {{1}}".to_owned());
        let err = verdict("reopen", &[&with_params]).unwrap_err().to_string();
        assert!(err.contains("has parameters"), "{err}");
        let good = (TemplateStatus::Approved, "Hi there".to_owned());
        assert!(verdict("reopen", &[&pending, &good]).is_ok());
    }
}
