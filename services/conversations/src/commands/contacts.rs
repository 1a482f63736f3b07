//! Operators' changes to contacts: names, phones and emails, and merges.
//! Both are events on `contact.<id>`, so a rebuild gives the same people.

use omnibus_core::ids;
use omnibus_proto::{
    Contact, ContactUpdated, ContactsMerged, MergeContactsRequest, UpdateContactRequest,
    contacts_merged::Reason, event::Payload,
};

use super::{Commands, event};
use crate::contacts::phone::normalize;
use crate::error::{Result, ServiceError};

/// Longest display name.
const MAX_NAME: usize = 200;
/// Most phones or emails an operator sets on one contact.
const MAX_VALUES: usize = 20;
/// Longest email address (RFC 5321).
const MAX_EMAIL: usize = 254;

impl Commands {
    /// Sets the name, phones and/or emails operators keep on a contact.
    pub async fn update_contact(&self, request: UpdateContactRequest) -> Result<Contact> {
        let contact = self.contact(&request.id).await?;
        let current = self.contacts.set_by_operators(&contact.id).await?;
        let display_name = match request.display_name {
            Some(name) => checked_name(&name)?,
            None => current.display_name,
        };
        let phones = match request.phones {
            Some(list) => checked_phones(&list.values, self.contacts.region())?,
            None => current.phones,
        };
        let emails = match request.emails {
            Some(list) => checked_emails(&list.values)?,
            None => current.emails,
        };
        let updated = ContactUpdated {
            contact_id: contact.id.clone(),
            display_name,
            phones,
            emails,
        };
        let event = event(
            ids::random_id("ev_"),
            "",
            "",
            Payload::ContactUpdated(updated),
        );
        self.publish(self.bus.subjects().contact(&contact.id), &event)
            .await?;
        self.contact(&contact.id).await
    }

    /// Makes `from_id` part of `into_id`: its identities, phones and emails
    /// join, and `from_id` keeps resolving to the merged contact.
    pub async fn merge_contacts(&self, request: MergeContactsRequest) -> Result<Contact> {
        let into = self.contact(&request.into_id).await?;
        let from = self.contact(&request.from_id).await?;
        if into.id == from.id {
            return Ok(into);
        }
        let merged = ContactsMerged {
            into_id: into.id.clone(),
            from_id: from.id.clone(),
            reason: Reason::Manual as i32,
            operator_id: request.operator_id,
            ..Default::default()
        };
        let event = event(
            ids::random_id("ev_"),
            "",
            "",
            Payload::ContactsMerged(merged),
        );
        self.publish(self.bus.subjects().contact(&into.id), &event)
            .await?;
        self.contact(&into.id).await
    }

    async fn contact(&self, id: &str) -> Result<Contact> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("contact id is required"));
        }
        self.contacts
            .contact(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("contact", id))
    }
}

fn checked_name(name: &str) -> Result<String> {
    let name = name.trim();
    let length = name.chars().count();
    if length > MAX_NAME {
        return Err(ServiceError::invalid(format!(
            "display_name has {length} characters; at most {MAX_NAME}"
        )));
    }
    Ok(name.to_owned())
}

fn checked_phones(
    values: &[String],
    region: crate::contacts::phone::Region,
) -> Result<Vec<String>> {
    too_many("phones", values)?;
    let mut phones = Vec::new();
    for (i, raw) in values.iter().enumerate() {
        let phone = normalize(raw, region)
            .map_err(|e| ServiceError::invalid(format!("phones[{i}]: {e}")))?;
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    Ok(phones)
}

fn checked_emails(values: &[String]) -> Result<Vec<String>> {
    too_many("emails", values)?;
    let mut emails = Vec::new();
    for (i, raw) in values.iter().enumerate() {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= MAX_EMAIL
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
        if !valid {
            return Err(ServiceError::invalid(format!(
                "emails[{i}]: {raw:?} is not an email address"
            )));
        }
        if !emails.contains(&email) {
            emails.push(email);
        }
    }
    Ok(emails)
}

fn too_many(what: &str, values: &[String]) -> Result<()> {
    if values.len() > MAX_VALUES {
        return Err(ServiceError::invalid(format!(
            "{} {what} given; at most {MAX_VALUES}",
            values.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails_are_checked_and_normalized() {
        let region = crate::contacts::phone::Region::default();
        let phones =
            checked_phones(&["8 912 345 67 89".into(), "+79123456789".into()], region).unwrap();
        assert_eq!(phones, ["+79123456789"]);
        assert!(checked_phones(&["call me".into()], region).is_err());
        let emails = checked_emails(&[" Ivan@Example.com ".into()]).unwrap();
        assert_eq!(emails, ["ivan@example.com"]);
        for bad in ["ivan", "@example.com", "ivan@example", "iv an@example.com"] {
            assert!(checked_emails(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(checked_name(&"x".repeat(MAX_NAME + 1)).is_err());
    }
}
