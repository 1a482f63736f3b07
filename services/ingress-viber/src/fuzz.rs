//! Property tests (issue 11): the callback parser and the normalizer never
//! panic, whatever arrives — random bytes, random JSON, or a real callback
//! of every kind with one part changed — and every body is answered with a
//! contract status: 400 when it is not a Viber callback, else 200 with
//! events whose ids are usable.

use omnibus_core::ids::is_valid_id;
use omnibus_testkit::fuzz;
use omnibus_viber_standin::callbacks;
use proptest::prelude::*;

use crate::normalize::{ChannelView, normalize};
use crate::wire::parse_callback;

const CHANNEL: ChannelView<'static> = ChannelView {
    id: "ch_viber",
    bot_name: "Acme Support",
    bot_avatar: "",
    welcome_message: "Welcome!",
};

/// The status the webhook answers `body` with (after verification).
fn answer(body: &[u8]) -> u16 {
    let Ok(callback) = parse_callback(body) else {
        return 400;
    };
    for event in normalize(&CHANNEL, &callback).events {
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
        prop_assert!(matches!(answer(&body), 200 | 400));
    }

    #[test]
    fn random_json(value in fuzz::json()) {
        prop_assert!(matches!(answer(value.to_string().as_bytes()), 200 | 400));
    }

    #[test]
    fn mutated_callbacks(body in prop::sample::select(callbacks::all_kinds()).prop_flat_map(fuzz::mutated)) {
        prop_assert!(matches!(answer(&body), 200 | 400));
    }
}
