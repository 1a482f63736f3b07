//! Property tests (issue 11): the notification parser, the verification and
//! the normalizer never panic, whatever arrives — random bytes, random JSON,
//! or a real notification of every kind with one part changed — and every
//! body is answered with a contract status: 400 when it is not a VK
//! notification, 403 when its secret is wrong, else 200 with events whose
//! ids are usable.

use omnibus_core::ids::is_valid_id;
use omnibus_testkit::fuzz;
use omnibus_vk_standin::callbacks;
use proptest::prelude::*;

use crate::normalize::{ChannelView, normalize};
use crate::verify::{Credentials, verify};
use crate::wire::parse_notification;

const GROUP: i64 = 218_765_432;
const SECRET: &str = "myCallbackSecret42";

/// The status the webhook answers `body` with.
fn answer(body: &[u8]) -> u16 {
    let Ok(notification) = parse_notification(body) else {
        return 400;
    };
    let credentials = Credentials {
        secret: SECRET,
        confirmation_code: "1a2b3c4d",
        group_id: GROUP,
    };
    if verify(&credentials, &notification).is_err() {
        return 403;
    }
    let channel = ChannelView {
        id: "ch_vk",
        group_id: GROUP,
    };
    for event in normalize(&channel, &notification).events {
        assert!(!event.id.is_empty() && event.id.len() < 512, "{}", event.id);
        assert!(!event.id.contains(['\r', '\n']), "{}", event.id);
        assert!(
            is_valid_id(&event.conversation_id),
            "{}",
            event.conversation_id
        );
    }
    200
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(fuzz::CASES)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes(body in fuzz::bytes()) {
        prop_assert!(matches!(answer(&body), 200 | 400 | 403));
    }

    #[test]
    fn random_json(value in fuzz::json()) {
        prop_assert!(matches!(answer(value.to_string().as_bytes()), 200 | 400 | 403));
    }

    #[test]
    fn mutated_notifications(body in prop::sample::select(callbacks::all_kinds(GROUP, SECRET)).prop_flat_map(fuzz::mutated)) {
        prop_assert!(matches!(answer(&body), 200 | 400 | 403));
    }
}
