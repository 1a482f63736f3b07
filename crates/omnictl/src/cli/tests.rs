use clap::Parser;
use clap::error::ErrorKind;

use super::*;

fn parse(argv: &[&str]) -> Cli {
    let mut full = vec!["omnictl"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

fn parse_err(argv: &[&str]) -> clap::Error {
    let mut full = vec!["omnictl"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full).expect_err("should not parse")
}

#[test]
fn channels_create_takes_kind_credentials_and_settings() {
    let cli = parse(&[
        "--addr",
        "http://10.0.0.1:50051",
        "--token",
        "t0k",
        "--json",
        "channels",
        "create",
        "--kind",
        "telegram",
        "--name",
        "Support",
        "--credential",
        "bot_token=123:ABC",
        "--credential",
        "secret_token=s3cr3t-Value_42",
        "--api-base-url",
        "http://127.0.0.1:9000",
        "--inactivity-close-seconds",
        "900",
        "--closing-message",
        "Bye",
        "--off-hours-message",
        "Closed now",
        "--default-template",
        "reopen",
        "--unanswered-after-seconds",
        "300",
    ]);
    assert_eq!(cli.addr, "http://10.0.0.1:50051");
    assert_eq!(cli.token.as_ref().map(ApiToken::expose), Some("t0k"));
    assert!(cli.json);
    let Command::Channels(ChannelsCmd::Create(args)) = cli.command else {
        panic!("not channels create");
    };
    assert_eq!(args.kind, ChannelKind::Telegram);
    assert_eq!(args.name, "Support");
    assert_eq!(
        args.credentials,
        [
            ("bot_token".to_owned(), "123:ABC".to_owned()),
            ("secret_token".to_owned(), "s3cr3t-Value_42".to_owned()),
        ]
    );
    assert_eq!(args.api_base_url.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(args.settings.inactivity_close_seconds, Some(900));
    assert_eq!(args.settings.closing_message.as_deref(), Some("Bye"));
    assert_eq!(
        args.settings.off_hours_message.as_deref(),
        Some("Closed now")
    );
    assert_eq!(args.settings.default_template.as_deref(), Some("reopen"));
    assert_eq!(args.settings.unanswered_after_seconds, Some(300));
}

#[test]
fn global_flags_work_after_the_subcommand_and_default_sensibly() {
    let cli = parse(&["channels", "list", "--json"]);
    assert!(cli.json);
    // OMNIBUS_ADDR may be set in a developer's shell; only check it parses.
    assert!(!cli.addr.is_empty());
    let Command::Channels(ChannelsCmd::List(args)) = cli.command else {
        panic!("not channels list");
    };
    assert!(!args.page.all);
    assert_eq!(args.page.page_token, "");
}

#[test]
fn kind_parsing_accepts_every_spelling_and_names_the_choices() {
    assert_eq!(parse_kind("telegram"), Ok(ChannelKind::Telegram));
    assert_eq!(parse_kind("WHATSAPP"), Ok(ChannelKind::Whatsapp));
    assert_eq!(parse_kind("CHANNEL_KIND_VK"), Ok(ChannelKind::Vk));
    let err = parse_kind("icq").unwrap_err();
    assert!(err.contains("telegram, whatsapp"), "{err}");
    assert!(parse_kind("unspecified").is_err());

    let err = parse_err(&["channels", "create", "--kind", "icq"]);
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn credentials_must_be_key_equals_value() {
    assert_eq!(
        parse_credential("app_secret=a=b"),
        Ok(("app_secret".to_owned(), "a=b".to_owned()))
    );
    assert!(
        parse_credential("bot_token")
            .unwrap_err()
            .contains("KEY=VALUE")
    );
    assert!(parse_credential("=value").unwrap_err().contains("key"));
    assert!(
        parse_credential("bot token=x")
            .unwrap_err()
            .contains("whitespace")
    );
    assert!(
        parse_credential("bot_token=")
            .unwrap_err()
            .contains("empty value")
    );

    let err = parse_err(&[
        "channels",
        "create",
        "--kind",
        "telegram",
        "--credential",
        "oops",
    ]);
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
}

#[test]
fn a_malformed_credential_is_not_echoed_whole() {
    let err = parse_credential("123456789:AAHsecretsecret").unwrap_err();
    assert!(!err.contains("secretsecret"), "{err}");
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let cli = parse(&["--token", "hunter2", "channels", "get", "ch_1"]);
    let debug = format!("{cli:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn channels_update_get_delete() {
    let cli = parse(&[
        "channels",
        "update",
        "ch_1",
        "--name",
        "New",
        "--credential",
        "bot_token=x",
        "--closing-message",
        "",
    ]);
    let Command::Channels(ChannelsCmd::Update(args)) = cli.command else {
        panic!("not channels update");
    };
    assert_eq!(args.id, "ch_1");
    assert_eq!(args.name.as_deref(), Some("New"));
    assert_eq!(args.credentials.len(), 1);
    assert_eq!(args.settings.closing_message.as_deref(), Some(""));
    assert!(!args.settings.is_empty());

    let cli = parse(&["channels", "get", "ch_2"]);
    assert!(matches!(cli.command, Command::Channels(ChannelsCmd::Get { id }) if id == "ch_2"));
    let cli = parse(&["channels", "delete", "ch_3"]);
    assert!(matches!(cli.command, Command::Channels(ChannelsCmd::Delete { id }) if id == "ch_3"));
    assert_eq!(
        parse_err(&["channels", "get"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn conversations_commands() {
    let cli = parse(&["conversations", "list", "--status", "closed", "--all"]);
    let Command::Conversations(ConversationsCmd::List(args)) = cli.command else {
        panic!("not conversations list");
    };
    assert_eq!(args.status, Some(StatusArg::Closed));
    assert!(args.page.all);
    assert_eq!(
        parse_err(&["conversations", "list", "--status", "pending"]).kind(),
        ErrorKind::InvalidValue
    );

    let cli = parse(&["conversations", "show", "cv_1"]);
    assert!(matches!(
        cli.command,
        Command::Conversations(ConversationsCmd::Show { id, limit: 20 }) if id == "cv_1"
    ));
    let cli = parse(&["conversations", "close", "cv_1", "--operator", "op_1"]);
    assert!(matches!(
        cli.command,
        Command::Conversations(ConversationsCmd::Close { operator: Some(op), .. }) if op == "op_1"
    ));
    let cli = parse(&["conversations", "assign", "cv_1", "--group", "g_1"]);
    assert!(matches!(
        cli.command,
        Command::Conversations(ConversationsCmd::Assign {
            operator: None,
            group: Some(_),
            ..
        })
    ));
    let cli = parse(&["conversations", "read", "cv_1"]);
    assert!(matches!(
        cli.command,
        Command::Conversations(ConversationsCmd::Read { .. })
    ));
    let cli = parse(&["conversations", "no-reply-needed", "cv_1"]);
    assert!(matches!(
        cli.command,
        Command::Conversations(ConversationsCmd::NoReplyNeeded { .. })
    ));
    let cli = parse(&[
        "conversations",
        "start",
        "--contact",
        "ct_1",
        "--channel",
        "ch_1",
        "--text",
        "Hi",
    ]);
    let Command::Conversations(ConversationsCmd::Start(args)) = cli.command else {
        panic!("not conversations start");
    };
    assert_eq!(
        (args.contact_id.as_deref(), args.channel_id.as_str()),
        (Some("ct_1"), "ch_1")
    );
    assert_eq!(args.text.as_deref(), Some("Hi"));
    assert_eq!(
        parse_err(&["conversations", "start", "--contact", "ct_1"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse_err(&["conversations", "start", "--channel", "ch_1"]).kind(),
        ErrorKind::MissingRequiredArgument,
        "a contact or a phone"
    );
    let cli = parse(&[
        "conversations",
        "start",
        "--phone",
        "8 912 345 67 89",
        "--channel",
        "ch_1",
    ]);
    let Command::Conversations(ConversationsCmd::Start(args)) = cli.command else {
        panic!("not conversations start");
    };
    assert_eq!(args.phone.as_deref(), Some("8 912 345 67 89"));
}

#[test]
fn messages_commands() {
    let cli = parse(&[
        "messages",
        "send",
        "cv_1",
        "Hello there",
        "--reply-to",
        "m_1",
        "--idempotency-key",
        "k1",
        "--operator",
        "op_1",
        "--attach-url",
        "https://x.example/a.png",
        "--attach-url",
        "https://x.example/b.pdf",
    ]);
    let Command::Messages(MessagesCmd::Send(args)) = cli.command else {
        panic!("not messages send");
    };
    assert_eq!(args.conversation_id, "cv_1");
    assert_eq!(args.text.as_deref(), Some("Hello there"));
    assert_eq!(args.reply_to.as_deref(), Some("m_1"));
    assert_eq!(args.idempotency_key.as_deref(), Some("k1"));
    assert_eq!(args.attach_urls.len(), 2);

    let cli = parse(&[
        "messages",
        "list",
        "cv_1",
        "--page-size",
        "10",
        "--page-token",
        "p2",
    ]);
    let Command::Messages(MessagesCmd::List {
        conversation_id,
        page,
    }) = cli.command
    else {
        panic!("not messages list");
    };
    assert_eq!(conversation_id, "cv_1");
    assert_eq!(page.page_size, Some(10));
    assert_eq!(page.page_token, "p2");
    assert_eq!(
        parse_err(&["messages", "list", "cv_1", "--page-size", "-1"]).exit_code(),
        2
    );
}

#[test]
fn contacts_commands() {
    let cli = parse(&["contacts", "list", "--channel", "ch_1", "--query", "sojan"]);
    assert!(matches!(
        cli.command,
        Command::Contacts(ContactsCmd::List {
            channel_id: Some(_),
            query: Some(_),
            ..
        })
    ));
    for show in ["show", "get"] {
        let cli = parse(&["contacts", show, "ct_1"]);
        assert!(matches!(cli.command, Command::Contacts(ContactsCmd::Show { id }) if id == "ct_1"));
    }
    let cli = parse(&["contacts", "find", "+7 912 345-67-89"]);
    assert!(
        matches!(cli.command, Command::Contacts(ContactsCmd::Find { query }) if query.starts_with("+7"))
    );
    let cli = parse(&["contacts", "merge", "ct_a", "ct_b", "--operator", "op-1"]);
    assert!(matches!(
        cli.command,
        Command::Contacts(ContactsCmd::Merge { into_id, from_id, operator: Some(_) })
            if into_id == "ct_a" && from_id == "ct_b"
    ));
}

#[test]
fn simulate_telegram_has_realistic_defaults() {
    let cli = parse(&[
        "simulate",
        "telegram",
        "--channel",
        "ch_1",
        "--secret",
        "s3cr3t",
        "--photo",
    ]);
    let Command::Simulate(SimulateCmd::Telegram(args)) = cli.command else {
        panic!("not simulate telegram");
    };
    assert_eq!(args.channel_id, "ch_1");
    assert_eq!(args.secret, "s3cr3t");
    assert_eq!(args.chat_id, 100_200_300);
    assert_eq!(
        (
            args.first_name.as_str(),
            args.last_name.as_str(),
            args.username.as_str()
        ),
        ("Sojan", "Jose", "sojan")
    );
    assert_eq!(args.text, "Hello");
    assert!(args.photo);
    assert_eq!(args.update_id, None);
    assert_eq!(
        parse_err(&["simulate", "telegram", "--channel", "ch_1"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn group_chat_ids_may_be_negative() {
    let cli = parse(&[
        "simulate",
        "telegram",
        "--channel",
        "c",
        "--secret",
        "s",
        "--chat-id",
        "-1001234",
    ]);
    let Command::Simulate(SimulateCmd::Telegram(args)) = cli.command else {
        panic!("not simulate telegram");
    };
    assert_eq!(args.chat_id, -1_001_234);
}

#[test]
fn the_command_tree_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn validation_catches_what_clap_cannot() {
    let err = parse(&["channels", "update", "ch_1"])
        .validate()
        .unwrap_err();
    assert!(err.to_string().starts_with("nothing to update"), "{err}");
    assert!(
        parse(&["channels", "update", "ch_1", "--name", "x"])
            .validate()
            .is_ok()
    );
    assert!(
        parse(&[
            "channels",
            "update",
            "ch_1",
            "--unanswered-after-seconds",
            "0"
        ])
        .validate()
        .is_ok()
    );

    assert!(parse(&["messages", "send", "cv_1"]).validate().is_err());
    assert!(parse(&["messages", "send", "cv_1", ""]).validate().is_err());
    assert!(
        parse(&["messages", "send", "cv_1", "Hi"])
            .validate()
            .is_ok()
    );
    assert!(
        parse(&[
            "messages",
            "send",
            "cv_1",
            "--attach-url",
            "https://x.example/a.pdf"
        ])
        .validate()
        .is_ok()
    );
}
