//! The window boundary with an injected clock, and the decision table.

use std::sync::atomic::{AtomicI64, Ordering};

use omnibus_core::Clock;
use omnibus_proto::TemplateStatus;

use super::*;

const HOUR: i64 = 3_600_000;
/// 2026-01-01T00:00:00Z: the customer's last message.
const WROTE: i64 = 1_767_225_600_000;

/// A clock the test moves by hand.
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn whatsapp(last_customer_ms: i64) -> WindowState {
    let conversation = ConversationRow {
        last_customer_ms,
        ..Default::default()
    };
    WindowState::of(ChannelKind::Whatsapp, Some(&conversation))
}

fn template(name: &str, body: &str, status: TemplateStatus) -> TemplateRow {
    TemplateRow {
        channel_id: "ch".into(),
        name: name.into(),
        language: "en_US".into(),
        body: body.into(),
        status,
        ..Default::default()
    }
}

fn situation<'a>(
    window: WindowState,
    author: AuthorKind,
    reference: Option<&'a TemplateRef>,
    templates: &'a [TemplateRow],
    default_template: DefaultTemplate,
) -> Situation<'a> {
    Situation {
        window,
        author,
        template: reference,
        templates,
        default_template,
    }
}

#[test]
fn the_window_closes_exactly_24_hours_after_the_customer_wrote() {
    let clock = ManualClock(AtomicI64::new(WROTE));
    let window = whatsapp(WROTE);
    assert!(window.is_open(clock.now_ms()));
    clock.0.store(WROTE + 24 * HOUR - 1, Ordering::SeqCst);
    assert!(window.is_open(clock.now_ms()), "one millisecond before");
    clock.0.store(WROTE + 24 * HOUR, Ordering::SeqCst);
    assert!(!window.is_open(clock.now_ms()), "at 24 hours it is closed");
    clock.0.store(WROTE + 24 * HOUR + 1, Ordering::SeqCst);
    assert!(!window.is_open(clock.now_ms()), "one millisecond after");
    assert_eq!(window.expires_at_ms(), Some(WROTE + 24 * HOUR));
}

#[test]
fn never_written_provider_closed_and_unwindowed_channels() {
    let never = WindowState::of(ChannelKind::Whatsapp, None);
    assert!(!never.is_open(WROTE));
    assert_eq!(never.expires_at_ms(), None);
    let conversation = ConversationRow {
        last_customer_ms: WROTE,
        provider_closed: true,
        ..Default::default()
    };
    let closed = WindowState::of(ChannelKind::Whatsapp, Some(&conversation));
    assert!(!closed.is_open(WROTE + 1), "the provider's word wins");
    let telegram = WindowState::of(ChannelKind::Telegram, None);
    assert!(!telegram.windowed() && telegram.is_open(WROTE));
    let instagram = WindowState::of(ChannelKind::Instagram, Some(&conversation));
    assert!(instagram.windowed());
}

#[test]
fn free_text_inside_the_window_goes_out() {
    let s = situation(
        whatsapp(WROTE),
        AuthorKind::Operator,
        None,
        &[],
        DefaultTemplate::Unset,
    );
    assert_eq!(decide(&s, WROTE + 23 * HOUR), Decision::Open);
}

#[test]
fn free_text_outside_without_a_default_template_is_refused_in_words() {
    let s = situation(
        whatsapp(WROTE),
        AuthorKind::Operator,
        None,
        &[],
        DefaultTemplate::Unset,
    );
    let Decision::Refused(why) = decide(&s, WROTE + 25 * HOUR) else {
        panic!("refused");
    };
    assert!(
        why.starts_with("the 24-hour window closed at 2026-01-02T00:00:00Z (1 hour ago"),
        "{why}"
    );
    assert!(why.contains("set a default_template"), "{why}");
}

#[test]
fn free_text_outside_with_a_usable_default_template_is_held() {
    let default = template(
        "hello",
        "Hi! Can we continue here?",
        TemplateStatus::Approved,
    );
    let templates = [default.clone()];
    let usable = DefaultTemplate::of(
        Some(&ChannelRow {
            id: "ch".into(),
            kind: ChannelKind::Whatsapp,
            deleted: false,
            default_template: "hello".into(),
            human_agent_tag: false,
        }),
        &templates,
    );
    assert_eq!(usable, DefaultTemplate::Usable(default.clone()));
    let s = situation(
        whatsapp(WROTE),
        AuthorKind::Operator,
        None,
        &templates,
        usable.clone(),
    );
    assert_eq!(decide(&s, WROTE + 25 * HOUR), Decision::Hold { default });
    // Automatic messages are never held.
    for author in [AuthorKind::System, AuthorKind::Bot] {
        let s = situation(whatsapp(WROTE), author, None, &templates, usable.clone());
        let Decision::Refused(why) = decide(&s, WROTE + 25 * HOUR) else {
            panic!("refused");
        };
        assert!(why.contains("automatic messages"), "{why}");
    }
}

#[test]
fn unusable_default_templates_say_why() {
    let channel = ChannelRow {
        id: "ch".into(),
        kind: ChannelKind::Whatsapp,
        deleted: false,
        default_template: "hello".into(),
        human_agent_tag: false,
    };
    let cases = [
        (vec![], "does not exist"),
        (
            vec![template("hello", "Hi", TemplateStatus::Pending)],
            "not approved (PENDING)",
        ),
        (
            vec![template("hello", "Hi {{1}}", TemplateStatus::Approved)],
            "has parameters",
        ),
    ];
    for (templates, expected) in cases {
        let DefaultTemplate::Unusable(why) = DefaultTemplate::of(Some(&channel), &templates) else {
            panic!("unusable: {expected}");
        };
        assert!(why.contains(expected), "{why}");
        let s = situation(
            whatsapp(WROTE),
            AuthorKind::Operator,
            None,
            &templates,
            DefaultTemplate::Unusable(why),
        );
        assert!(
            matches!(decide(&s, WROTE + 25 * HOUR), Decision::Refused(m) if m.contains(expected))
        );
    }
}

#[test]
fn approved_templates_go_out_at_any_time_with_their_language() {
    let templates = [
        template("order", "Order {{1}} shipped", TemplateStatus::Approved),
        TemplateRow {
            language: "ru".into(),
            ..template("order", "Заказ {{1}}", TemplateStatus::Rejected)
        },
    ];
    let reference = TemplateRef {
        name: "order".into(),
        parameters: vec!["A-7".into()],
        ..Default::default()
    };
    let s = situation(
        whatsapp(0),
        AuthorKind::Operator,
        Some(&reference),
        &templates,
        DefaultTemplate::Unset,
    );
    let Decision::Template { template, rendered } = decide(&s, WROTE) else {
        panic!("template");
    };
    assert_eq!(template.language, "en_US", "the one approved language");
    assert_eq!(rendered, "Order A-7 shipped");
}

#[test]
fn unknown_unapproved_and_badly_filled_templates_are_invalid() {
    let templates = [
        template("order", "Order {{1}}", TemplateStatus::Approved),
        template("promo", "Sale!", TemplateStatus::Paused),
    ];
    let cases = [
        ("nope", "", vec![], "does not exist"),
        ("promo", "", vec![], "not approved (PAUSED)"),
        ("order", "de", vec!["x".to_owned()], "no de translation"),
        ("order", "", vec![], "{{1}} missing"),
        (
            "order",
            "",
            vec!["a".to_owned(), "b".to_owned()],
            "{{2}} is not in the template",
        ),
    ];
    for (name, language, parameters, expected) in cases {
        let reference = TemplateRef {
            name: name.into(),
            language: language.into(),
            parameters,
            ..Default::default()
        };
        let s = situation(
            whatsapp(WROTE),
            AuthorKind::Operator,
            Some(&reference),
            &templates,
            DefaultTemplate::Unset,
        );
        match decide(&s, WROTE) {
            Decision::Invalid(why) => assert!(why.contains(expected), "{why} / {expected}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn durations_read_in_whole_units() {
    assert_eq!(ago(90_000), "1 minute");
    assert_eq!(ago(7 * 86_400_000), "7 days");
    assert_eq!(ago(2 * HOUR), "2 hours");
    assert_eq!(ago(5_000), "5 seconds");
    assert_eq!(rfc3339(WROTE), "2026-01-01T00:00:00Z");
}

fn instagram(last_customer_ms: i64, human_agent_tag: bool, provider_closed: bool) -> WindowState {
    let conversation = ConversationRow {
        last_customer_ms,
        provider_closed,
        ..Default::default()
    };
    let channel = ChannelRow {
        id: "ig".into(),
        kind: ChannelKind::Instagram,
        deleted: false,
        default_template: String::new(),
        human_agent_tag,
    };
    WindowState::of(ChannelKind::Instagram, Some(&conversation)).with_tag_of(Some(&channel))
}

#[test]
fn the_human_agent_tag_lets_operators_answer_from_24_hours_to_7_days() {
    let decision = |window: WindowState, author: AuthorKind, at: i64| {
        let s = situation(window, author, None, &[], DefaultTemplate::Unset);
        decide(&s, at)
    };
    let tagged = instagram(WROTE, true, false);
    let op = AuthorKind::Operator;
    assert_eq!(decision(tagged, op, WROTE + 23 * HOUR), Decision::Open);
    assert_eq!(
        decision(tagged, op, WROTE + 24 * HOUR),
        Decision::HumanAgent
    );
    let last_ms = WROTE + 7 * 24 * HOUR - 1;
    assert_eq!(decision(tagged, op, last_ms), Decision::HumanAgent);
    assert!(
        matches!(decision(tagged, op, last_ms + 1), Decision::Refused(_)),
        "after 7 days it is refused like WhatsApp outside the window"
    );
    assert_eq!(
        tagged.human_agent_expires_at_ms(),
        Some(WROTE + 7 * 24 * HOUR)
    );
    for author in [AuthorKind::System, AuthorKind::Bot] {
        assert!(
            matches!(
                decision(tagged, author, WROTE + 25 * HOUR),
                Decision::Refused(_)
            ),
            "automatic messages may not use the tag"
        );
    }
    let untagged = instagram(WROTE, false, false);
    assert!(matches!(
        decision(untagged, op, WROTE + 25 * HOUR),
        Decision::Refused(_)
    ));
    let refused = instagram(WROTE, true, true);
    assert!(
        matches!(
            decision(refused, op, WROTE + 25 * HOUR),
            Decision::Refused(_)
        ),
        "after Instagram refused a send as outside the window, no tag helps"
    );
    // WhatsApp never gets the tag, whatever the setting.
    let channel = ChannelRow {
        id: "wa".into(),
        kind: ChannelKind::Whatsapp,
        deleted: false,
        default_template: String::new(),
        human_agent_tag: true,
    };
    let whatsapp = whatsapp(WROTE).with_tag_of(Some(&channel));
    assert!(!whatsapp.human_agent_open(WROTE + 25 * HOUR));
}
