//! VK's way of proving a notification is VK's (providers.md §4.1): the
//! `secret` field inside the JSON body equals the secret key set on the
//! community's callback server — no header, no HMAC — compared in constant
//! time. A `confirmation` request is answered with the channel's
//! confirmation code as plain text; everything else with `ok`.

use omnibus_core::secret::secrets_equal;

use crate::wire::Notification;

/// The channel credentials verification needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `secret`: the callback server's secret key.
    pub secret: &'a str,
    /// `confirmation_code`: the string VK expects back on `confirmation`.
    pub confirmation_code: &'a str,
    /// `group_id`: the community; 0 accepts any (not recommended).
    pub group_id: i64,
}

/// What to do with a notification that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Answer with this text (the confirmation code) and store nothing.
    Confirm(String),
    /// Normalize, store, then answer `ok`.
    Event,
}

/// Why a notification is refused (403, nothing stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the secret field does not match the channel's secret")]
    WrongSecret,
    #[error("the notification is for another community than the channel's group_id")]
    OtherCommunity,
    #[error("the channel has no confirmation_code to answer vk's confirmation request with")]
    NoConfirmationCode,
}

/// Checks `notification` against the channel's credentials.
pub fn verify(
    credentials: &Credentials<'_>,
    notification: &Notification,
) -> Result<Verified, Refused> {
    if credentials.group_id != 0 && notification.group_id != credentials.group_id {
        return Err(Refused::OtherCommunity);
    }
    if notification.kind == "confirmation" {
        // VK may leave the secret out of the confirmation request; when it
        // sends one, it must be the right one.
        if !notification.secret.is_empty() && !secret_matches(credentials, &notification.secret) {
            return Err(Refused::WrongSecret);
        }
        if credentials.confirmation_code.is_empty() {
            return Err(Refused::NoConfirmationCode);
        }
        return Ok(Verified::Confirm(credentials.confirmation_code.to_owned()));
    }
    if secret_matches(credentials, &notification.secret) {
        Ok(Verified::Event)
    } else {
        Err(Refused::WrongSecret)
    }
}

fn secret_matches(credentials: &Credentials<'_>, given: &str) -> bool {
    !credentials.secret.is_empty() && secrets_equal(given.as_bytes(), credentials.secret.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_notification;

    const CREDENTIALS: Credentials<'static> = Credentials {
        secret: "myCallbackSecret42",
        confirmation_code: "1a2b3c4d",
        group_id: 218765432,
    };

    fn check(json: &str) -> Result<Verified, Refused> {
        verify(
            &CREDENTIALS,
            &parse_notification(json.as_bytes()).expect("a vk notification"),
        )
    }

    #[test]
    fn confirmation_is_answered_with_the_code() {
        let answer = check(r#"{"type":"confirmation","group_id":218765432}"#);
        assert_eq!(answer, Ok(Verified::Confirm("1a2b3c4d".into())));
        let with_secret =
            check(r#"{"type":"confirmation","group_id":218765432,"secret":"myCallbackSecret42"}"#);
        assert_eq!(with_secret, Ok(Verified::Confirm("1a2b3c4d".into())));
        let codeless = Credentials {
            confirmation_code: "",
            ..CREDENTIALS
        };
        let request =
            parse_notification(br#"{"type":"confirmation","group_id":218765432}"#).expect("vk");
        assert_eq!(
            verify(&codeless, &request),
            Err(Refused::NoConfirmationCode)
        );
    }

    #[test]
    fn events_must_carry_the_secret() {
        let ok = r#"{"type":"message_new","group_id":218765432,"secret":"myCallbackSecret42","object":{}}"#;
        assert_eq!(check(ok), Ok(Verified::Event));
        for refused in [
            r#"{"type":"message_new","group_id":218765432,"object":{}}"#,
            r#"{"type":"message_new","group_id":218765432,"secret":"guess","object":{}}"#,
            r#"{"type":"message_new","group_id":218765432,"secret":"myCallbackSecret4","object":{}}"#,
            r#"{"type":"confirmation","group_id":218765432,"secret":"guess"}"#,
        ] {
            assert_eq!(check(refused), Err(Refused::WrongSecret), "{refused}");
        }
        let elsewhere = r#"{"type":"message_new","group_id":1,"secret":"myCallbackSecret42"}"#;
        assert_eq!(check(elsewhere), Err(Refused::OtherCommunity));
        let secretless = Credentials {
            secret: "",
            ..CREDENTIALS
        };
        let empty =
            parse_notification(br#"{"type":"message_new","group_id":218765432,"secret":""}"#)
                .expect("vk");
        assert_eq!(
            verify(&secretless, &empty),
            Err(Refused::WrongSecret),
            "no secret, no trust"
        );
    }
}
