//! Meta's webhook verification, shared with WhatsApp (providers.md §5.1):
//! the `GET` subscription handshake (`verify_token`) and
//! `X-Hub-Signature-256` over the raw body (`app_secret`). Instagram's
//! credentials carry the same keys, so WhatsApp's functions are used as
//! they are, not copied.

pub use omnibus_ingress_whatsapp::webhook::{handshake, verify};

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::http::HeaderMap;
    use omnibus_ingress::{Answer, Verdict};
    use omnibus_instagram_standin::webhook::{SIGNATURE_HEADER, sign};
    use omnibus_proto::ChannelState;

    use super::*;

    fn channel() -> ChannelState {
        ChannelState {
            id: "ch_ig".into(),
            credentials: HashMap::from([
                ("app_secret".to_owned(), "app-secret".to_owned()),
                ("verify_token".to_owned(), "meatyhamhock".to_owned()),
            ]),
            ..ChannelState::default()
        }
    }

    #[test]
    fn the_handshake_echoes_the_challenge_for_the_right_token_only() {
        let mut query = HashMap::from([
            ("hub.mode".to_owned(), "subscribe".to_owned()),
            ("hub.verify_token".to_owned(), "meatyhamhock".to_owned()),
            ("hub.challenge".to_owned(), "1158201444".to_owned()),
        ]);
        assert_eq!(
            handshake(&channel(), &query).unwrap(),
            Answer::Text("1158201444".into())
        );
        query.insert("hub.verify_token".into(), "other".into());
        assert!(handshake(&channel(), &query).is_err());
    }

    #[test]
    fn instagram_signatures_are_meta_signatures() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, sign("app-secret", body).parse().unwrap());
        assert!(matches!(
            verify(&channel(), &headers, Some(body)),
            Verdict::Valid
        ));
        assert!(matches!(
            verify(&channel(), &headers, Some(b"{}")),
            Verdict::Invalid(_)
        ));
        headers.insert(SIGNATURE_HEADER, sign("other", body).parse().unwrap());
        assert!(matches!(
            verify(&channel(), &headers, Some(body)),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            verify(&channel(), &HeaderMap::new(), None),
            Verdict::Invalid(_)
        ));
    }
}
