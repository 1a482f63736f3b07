//! The command tree (clap derive) and the value parsers of its arguments.
//!
//! Parsing failures here are usage errors: clap prints them and exits 2.

use std::fmt;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use omnibus_proto::ChannelKind;

use crate::error::UsageError;

/// Default gRPC address of a local `omnibus serve all`.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";
/// Help heading of the flags every command takes.
const GLOBAL: &str = "Global options";
/// Default HTTP address (webhooks) of a local `omnibus serve all`.
pub const DEFAULT_HTTP: &str = "http://127.0.0.1:8080";

/// Command-line client of the Omnibus gRPC API.
#[derive(Debug, Parser)]
#[command(name = "omnictl", version, about, propagate_version = true)]
pub struct Cli {
    /// gRPC address of the Omnibus API.
    #[arg(long, global = true, help_heading = GLOBAL, env = "OMNIBUS_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,

    /// API token, sent as `authorization: Bearer <token>` on every call.
    #[arg(long, global = true, help_heading = GLOBAL, env = "OMNIBUS_API_TOKEN", hide_env_values = true)]
    pub token: Option<ApiToken>,

    /// Print one machine-readable JSON document per command.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Checks what clap cannot express, before any connection is made.
    pub fn validate(&self) -> Result<(), UsageError> {
        match &self.command {
            Command::Channels(ChannelsCmd::Update(args))
                if args.name.is_none()
                    && args.credentials.is_empty()
                    && args.api_base_url.is_none()
                    && args.settings.is_empty() =>
            {
                Err(UsageError::new(
                    "nothing to update: give --name, --credential, --api-base-url or a settings flag",
                ))
            }
            Command::Messages(MessagesCmd::Send(args))
                if args.text.as_deref().unwrap_or_default().is_empty()
                    && args.attach_urls.is_empty()
                    && args.template.template.is_none() =>
            {
                Err(UsageError::new(
                    "give the message TEXT, --template NAME or at least one --attach-url",
                ))
            }
            Command::Messages(MessagesCmd::Send(args)) => args.template.validate(),
            Command::Conversations(ConversationsCmd::Start(args)) => args.template.validate(),
            _ => Ok(()),
        }
    }
}

/// The top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect messenger accounts (bots, numbers, communities).
    #[command(subcommand)]
    Channels(ChannelsCmd),
    /// List, read and act on conversations.
    #[command(subcommand, alias = "conv")]
    Conversations(ConversationsCmd),
    /// List and send the messages of a conversation.
    #[command(subcommand, alias = "msg")]
    Messages(MessagesCmd),
    /// Look up the people Omnibus talks to.
    #[command(subcommand)]
    Contacts(ContactsCmd),
    /// Post a realistic provider webhook to a running server.
    #[command(subcommand)]
    Simulate(SimulateCmd),
    /// Message templates of WhatsApp (and Instagram) channels.
    #[command(subcommand)]
    Templates(crate::templates::TemplatesCmd),
    /// Show a conversation's 24-hour window and its held messages.
    Window(crate::templates::WindowArgs),
    /// Print operators' notifications as they happen.
    Watch(crate::watch::WatchArgs),
    /// Outbound webhooks to internal services and their deliveries.
    #[command(subcommand)]
    Webhooks(crate::webhooks::WebhooksCmd),
    /// Operators' dashboard figures and presence.
    #[command(subcommand)]
    Operators(crate::operators::OperatorsCmd),
    /// Operator groups: the targets of channel routing.
    #[command(subcommand)]
    Groups(crate::groups::GroupsCmd),
    /// Call any unary API method by name with a JSON request (via gRPC reflection).
    Call(crate::call::CallArgs),
}

impl Command {
    /// The gRPC service the command talks to (`None` for `simulate` and
    /// `call`), for naming it in an UNIMPLEMENTED error.
    pub fn api_name(&self) -> Option<&'static str> {
        match self {
            Self::Channels(_) => Some("ChannelService"),
            Self::Conversations(_) | Self::Messages(_) => Some("ConversationService"),
            Self::Contacts(_) => Some("ContactService"),
            Self::Templates(_) | Self::Window(_) => Some("TemplateService"),
            Self::Watch(_) | Self::Webhooks(_) => Some("NotificationService"),
            Self::Operators(_) | Self::Groups(_) => Some("OperatorService"),
            Self::Simulate(_) | Self::Call(_) => None,
        }
    }
}

// === channels ===

/// `omnictl channels …`
#[derive(Debug, Subcommand)]
pub enum ChannelsCmd {
    /// Connect a messenger account.
    Create(ChannelCreateArgs),
    /// List channels.
    List(ChannelListArgs),
    /// Show one channel.
    Get {
        /// Channel id.
        id: String,
    },
    /// Change a channel's name, credentials or settings.
    Update(ChannelUpdateArgs),
    /// Delete a channel: its webhook answers 404 from then on.
    Delete {
        /// Channel id.
        id: String,
    },
}

/// Arguments of `channels create`.
#[derive(Debug, Args)]
pub struct ChannelCreateArgs {
    /// Messenger: telegram, whatsapp, viber, vk, instagram or wazzup.
    #[arg(long, value_parser = parse_kind)]
    pub kind: ChannelKind,
    /// Display name; empty takes the provider's name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// A credential as KEY=VALUE (repeat for each key; a repeated key keeps the last value).
    #[arg(long = "credential", value_name = "KEY=VALUE", value_parser = parse_credential)]
    pub credentials: Vec<(String, String)>,
    /// Provider API base URL override.
    #[arg(long)]
    pub api_base_url: Option<String>,
    /// Wazzup: the account's channel to connect (its channel_id, or its
    /// number in the list); without it and without a channel_id credential
    /// the account's channels are listed and asked for on a terminal.
    #[arg(long, value_name = "CHANNEL_ID")]
    pub pick: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Arguments of `channels list`.
#[derive(Debug, Args)]
pub struct ChannelListArgs {
    /// Include deleted channels.
    #[arg(long)]
    pub include_deleted: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Arguments of `channels update`.
#[derive(Debug, Args)]
pub struct ChannelUpdateArgs {
    /// Channel id.
    pub id: String,
    /// New display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A credential to replace as KEY=VALUE; keys not given are kept.
    #[arg(long = "credential", value_name = "KEY=VALUE", value_parser = parse_credential)]
    pub credentials: Vec<(String, String)>,
    /// Provider API base URL override (empty for the default).
    #[arg(long)]
    pub api_base_url: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Channel settings flags; on update they are merged over the current settings.
#[derive(Debug, Default, Clone, Args)]
pub struct SettingsArgs {
    /// Settings from a YAML or JSON file (the `ChannelSettings` fields:
    /// auto_replies, schedule with holidays, off_hours_message, ...); the
    /// keys it has replace the current ones, the flags below go on top.
    #[arg(long, value_name = "FILE")]
    pub settings_file: Option<std::path::PathBuf>,
    /// Seconds of silence after which a conversation closes (default 600).
    #[arg(long, value_name = "N")]
    pub inactivity_close_seconds: Option<u32>,
    /// Sent to the customer when a conversation closes (at most 250 characters).
    #[arg(long, value_name = "TEXT")]
    pub closing_message: Option<String>,
    /// Sent to a customer who writes outside working hours.
    #[arg(long, value_name = "TEXT")]
    pub off_hours_message: Option<String>,
    /// Approved template used to reopen a closed 24-hour window.
    #[arg(long, value_name = "NAME")]
    pub default_template: Option<String>,
    /// A customer waiting longer than this is UNANSWERED (0 disables).
    #[arg(long, value_name = "N")]
    pub unanswered_after_seconds: Option<u32>,
}

impl SettingsArgs {
    /// Tells whether any settings flag was given.
    pub fn is_empty(&self) -> bool {
        self.settings_file.is_none()
            && self.inactivity_close_seconds.is_none()
            && self.closing_message.is_none()
            && self.off_hours_message.is_none()
            && self.default_template.is_none()
            && self.unanswered_after_seconds.is_none()
    }
}

/// Paging flags shared by the list commands.
#[derive(Debug, Default, Clone, Args)]
pub struct PageArgs {
    /// Items per page (the server clamps it to its maximum).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    /// Token from a previous page's `next_page_token`.
    #[arg(long, value_name = "T", default_value = "")]
    pub page_token: String,
    /// Follow `next_page_token` until the last page.
    #[arg(long)]
    pub all: bool,
}

// === conversations ===

/// `omnictl conversations …`
#[derive(Debug, Subcommand)]
pub enum ConversationsCmd {
    /// List conversations, most recent first.
    List(ConversationListArgs),
    /// Show a conversation and its latest messages.
    Show {
        /// Conversation id.
        id: String,
        /// How many of the latest messages to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Close a conversation.
    Close {
        /// Conversation id.
        id: String,
        /// Operator who closes it.
        #[arg(long)]
        operator: Option<String>,
    },
    /// Assign a conversation to an operator and/or a group (neither unassigns).
    Assign {
        /// Conversation id.
        id: String,
        /// Operator id.
        #[arg(long)]
        operator: Option<String>,
        /// Group id.
        #[arg(long)]
        group: Option<String>,
    },
    /// Mark a conversation's messages as read.
    Read {
        /// Conversation id.
        id: String,
    },
    /// Mark a conversation as needing no reply (clears UNANSWERED).
    NoReplyNeeded {
        /// Conversation id.
        id: String,
    },
    /// Start a conversation with a known contact.
    Start(ConversationStartArgs),
    /// Show everything that happened in a conversation, from the event
    /// stream: received, held, released, dispatched, statuses, closed, ...
    Events {
        /// Conversation id.
        id: String,
    },
}

/// Conversation status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Open conversations only.
    Open,
    /// Closed conversations only.
    Closed,
}

/// Arguments of `conversations list`.
#[derive(Debug, Args)]
pub struct ConversationListArgs {
    /// Only conversations with this status.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only this channel's conversations.
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: Option<String>,
    /// Only conversations assigned to this operator.
    #[arg(long = "assignee", value_name = "ID")]
    pub assignee_id: Option<String>,
    /// Only conversations waiting for an answer.
    #[arg(long)]
    pub unanswered: bool,
    /// Case-insensitive search in titles, contacts and message text.
    #[arg(long, value_name = "TEXT")]
    pub query: Option<String>,
    /// Only this contact's conversations.
    #[arg(long = "contact", value_name = "ID")]
    pub contact_id: Option<String>,
    /// Only conversations of (or waiting on) this operator group.
    #[arg(long = "group", value_name = "ID")]
    pub group_id: Option<String>,
    /// Only conversations no operator holds.
    #[arg(long)]
    pub unassigned: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Arguments of `conversations start`.
#[derive(Debug, Args)]
pub struct ConversationStartArgs {
    /// Contact id (or give --phone).
    #[arg(long = "contact", value_name = "ID", required_unless_present = "phone")]
    pub contact_id: Option<String>,
    /// Phone number in any form (WhatsApp: writes to any number with a template).
    #[arg(long, value_name = "PHONE")]
    pub phone: Option<String>,
    /// A repeated key sends nothing again.
    #[arg(long, value_name = "K")]
    pub idempotency_key: Option<String>,
    /// Channel id.
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// First message to send.
    #[arg(long)]
    pub text: Option<String>,
    /// Operator who starts it.
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Sending a message template instead of free text.
#[derive(Debug, Default, Clone, Args)]
pub struct TemplateArgs {
    /// Send this approved template (WhatsApp, Instagram) instead of free text.
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// The template's language, e.g. en_US (empty: the only one there is).
    #[arg(long, value_name = "CODE", requires = "template")]
    pub language: Option<String>,
    /// A value for {{1}}, {{2}}, ... in order (repeat for each).
    #[arg(long = "param", value_name = "VALUE", requires = "template")]
    pub params: Vec<String>,
    /// A value for a named placeholder as NAME=VALUE (repeat for each).
    #[arg(long = "named-param", value_name = "NAME=VALUE", requires = "template", value_parser = parse_named_param)]
    pub named_params: Vec<(String, String)>,
}

impl TemplateArgs {
    /// Refuses positional and named parameters together.
    pub fn validate(&self) -> Result<(), UsageError> {
        if !self.params.is_empty() && !self.named_params.is_empty() {
            return Err(UsageError::new(
                "give either --param (for {{1}}, {{2}}, ...) or --named-param, not both",
            ));
        }
        Ok(())
    }

    /// The `TemplateRef` of the request, when a template was given.
    pub fn to_ref(&self) -> Option<omnibus_proto::TemplateRef> {
        let name = self.template.clone()?;
        Some(omnibus_proto::TemplateRef {
            name,
            language: self.language.clone().unwrap_or_default(),
            parameters: self.params.clone(),
            named_parameters: self.named_params.iter().cloned().collect(),
        })
    }
}

/// Parses `NAME=VALUE` of a named template parameter.
pub fn parse_named_param(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got {arg:?}")),
    }
}

// === messages ===

/// `omnictl messages …`
#[derive(Debug, Subcommand)]
pub enum MessagesCmd {
    /// List a conversation's messages, oldest first.
    List {
        /// Conversation id.
        conversation_id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Send a message to the customer of a conversation.
    Send(MessageSendArgs),
    /// Download attachment N (from 0) of a message through `GET /media`.
    Media(MediaArgs),
}

/// Arguments of `messages media`.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Message id.
    pub message_id: String,
    /// Attachment number, from 0.
    pub index: u32,
    /// File to write.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Base URL of Omnibus's HTTP listener (which serves `/media`).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
}

/// Arguments of `messages send`.
#[derive(Debug, Args)]
pub struct MessageSendArgs {
    /// Conversation id.
    pub conversation_id: String,
    /// Message text (may be omitted when --attach-url is given).
    pub text: Option<String>,
    /// Id of the message this one answers.
    #[arg(long, value_name = "MSG_ID")]
    pub reply_to: Option<String>,
    /// A repeated key returns the original message and sends nothing.
    #[arg(long, value_name = "K")]
    pub idempotency_key: Option<String>,
    /// Operator who sends it.
    #[arg(long, value_name = "ID")]
    pub operator: Option<String>,
    /// Attach a file by URL (repeatable); jpg/jpeg/png/gif/webp are sent as images.
    #[arg(long = "attach-url", value_name = "URL")]
    pub attach_urls: Vec<String>,
    #[command(flatten)]
    pub template: TemplateArgs,
}

// === contacts ===

/// `omnictl contacts …`
#[derive(Debug, Subcommand)]
pub enum ContactsCmd {
    /// List contacts.
    List {
        /// Only this channel's contacts.
        #[arg(long = "channel", value_name = "ID")]
        channel_id: Option<String>,
        /// Search in names, usernames and phones.
        #[arg(long, value_name = "T")]
        query: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one contact with its identities on every channel.
    #[command(alias = "get")]
    Show {
        /// Contact id.
        id: String,
    },
    /// Find contacts by name, username, email or a phone in any form.
    Find {
        /// What to look for.
        query: String,
    },
    /// Merge one contact into another (the merged-away id keeps working).
    Merge {
        /// The contact that stays.
        into_id: String,
        /// The contact merged into it.
        from_id: String,
        /// Operator who merges them.
        #[arg(long, value_name = "ID")]
        operator: Option<String>,
    },
}

// === simulate ===

/// `omnictl simulate …`
#[derive(Debug, Subcommand)]
pub enum SimulateCmd {
    /// Post a Telegram `Update` (a private-chat message) to a channel's webhook.
    Telegram(SimulateTelegramArgs),
    /// Run a local stand-in of the Telegram Bot API (accepts any bot token and
    /// prints what Omnibus sends), for trying Omnibus without a real bot.
    TelegramApi(SimulateTelegramApiArgs),
    /// Post a WhatsApp Cloud API text message webhook, signed with the
    /// channel's app secret (X-Hub-Signature-256), to a channel's webhook.
    Whatsapp(SimulateWhatsappArgs),
    /// Run a local stand-in of the WhatsApp Cloud (Graph) API that accepts
    /// any token and prints what Omnibus sends, for trying Omnibus (and the
    /// 24-hour window) without a Meta account.
    WhatsappApi(SimulateWhatsappApiArgs),
    /// Post an Instagram Direct message (or `--comment`) webhook, signed with
    /// the channel's app secret (X-Hub-Signature-256), to a channel's webhook.
    Instagram(SimulateInstagramArgs),
    /// Post a Wazzup `messages` delivery to a channel's webhook (any channel
    /// of the account: Wazzup routes by `channelId`).
    Wazzup(SimulateWazzupArgs),
    /// Post a Viber `message` callback, signed with the channel's auth token
    /// (X-Viber-Content-Signature), to a channel's webhook.
    Viber(SimulateViberArgs),
    /// Post a VK Callback API `message_new` notification (carrying the
    /// channel's `secret`) to a channel's webhook.
    Vk(SimulateVkArgs),
}

/// Arguments of `simulate viber`.
#[derive(Debug, Clone, Args)]
pub struct SimulateViberArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`).
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// The channel's `auth_token` credential, which signs the callback.
    #[arg(long, value_name = "TOKEN")]
    pub auth_token: String,
    /// The customer's Viber user id.
    #[arg(long, default_value = "01234567890A=")]
    pub user_id: String,
    /// The customer's display name.
    #[arg(long, default_value = "John McClane")]
    pub name: String,
    /// Message text.
    #[arg(long, default_value = "Hi! Where is my order?")]
    pub text: String,
}

/// Arguments of `simulate vk`.
#[derive(Debug, Clone, Args)]
pub struct SimulateVkArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`).
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// The channel's `secret` credential, which VK puts in every notification.
    #[arg(long, value_name = "SECRET")]
    pub secret: String,
    /// The community's id (the channel's `group_id` credential).
    #[arg(long, value_name = "ID")]
    pub group_id: i64,
    /// The customer's VK user id (also the dialog's `peer_id`).
    #[arg(long, default_value_t = 501_234_567)]
    pub user_id: i64,
    /// Message text.
    #[arg(long, default_value = "Hello, my order hasn't arrived")]
    pub text: String,
}

/// Arguments of `simulate instagram`.
#[derive(Debug, Clone, Args)]
pub struct SimulateInstagramArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`).
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// The channel's `app_secret` credential, which signs the webhook.
    #[arg(long, value_name = "SECRET")]
    pub app_secret: String,
    /// Message (or comment) text.
    #[arg(long, default_value = "Hi! Is this jacket still available?")]
    pub text: String,
    /// A comment under a post instead of a Direct message.
    #[arg(long)]
    pub comment: bool,
}

/// Arguments of `simulate wazzup`.
#[derive(Debug, Clone, Args)]
pub struct SimulateWazzupArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`) whose path to post to.
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// Wazzup's `channelId` the message arrived on (a `channel_id` credential).
    #[arg(long, value_name = "UUID")]
    pub wazzup_channel: String,
    /// The channel's `webhook_token`, sent as `Authorization: Bearer`.
    #[arg(long, value_name = "TOKEN")]
    pub webhook_token: Option<String>,
    /// The customer's chat id (WhatsApp: phone digits).
    #[arg(long, default_value = "79011112233")]
    pub chat_id: String,
    /// Message text.
    #[arg(long, default_value = "Hello, is delivery available today?")]
    pub text: String,
}

/// Arguments of `simulate whatsapp-api`.
#[derive(Debug, Clone, Args)]
pub struct SimulateWhatsappApiArgs {
    /// Address to listen on; give `http://<it>` as the channel's `--api-base-url`.
    #[arg(long, default_value = "127.0.0.1:8082")]
    pub listen: String,
}

/// Arguments of `simulate whatsapp`.
#[derive(Debug, Clone, Args)]
pub struct SimulateWhatsappArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`).
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// The channel's `app_secret` credential, which signs the webhook.
    #[arg(long, value_name = "SECRET")]
    pub app_secret: String,
    /// The business number's id (the channel's `phone_number_id`).
    #[arg(long, default_value = "106540352242922")]
    pub phone_number_id: String,
    /// The customer's WhatsApp id (phone number digits, no +).
    #[arg(long, default_value = "16505551234")]
    pub wa_id: String,
    /// The customer's profile name.
    #[arg(long, default_value = "Sheena Nelson")]
    pub name: String,
    /// Message text.
    #[arg(long, default_value = "Hello")]
    pub text: String,
    /// The message's wamid; default derives from the current time so runs differ.
    #[arg(long, value_name = "WAMID")]
    pub wamid: Option<String>,
    /// Backdate the message by this much (e.g. 25h, 90m, 2d), as if the
    /// customer wrote then: past 24h the window is already closed.
    #[arg(long, value_name = "DURATION", value_parser = parse_ago)]
    pub sent_ago: Option<std::time::Duration>,
}

/// Parses a duration as a number and a unit: `30s`, `90m`, `25h`, `2d`.
pub fn parse_ago(arg: &str) -> Result<std::time::Duration, String> {
    let arg = arg.trim();
    let split = arg.find(|c: char| !c.is_ascii_digit()).unwrap_or(arg.len());
    let (number, unit) = arg.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a number and a unit (30s, 90m, 25h, 2d), got {arg:?}"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in {arg:?}; use s, m, h or d")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(seconds)))
}

/// Arguments of `simulate telegram-api`.
#[derive(Debug, Clone, Args)]
pub struct SimulateTelegramApiArgs {
    /// Address to listen on; give `http://<it>` as the channel's `--api-base-url`.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,
}

/// Arguments of `simulate telegram`.
#[derive(Debug, Clone, Args)]
pub struct SimulateTelegramArgs {
    /// Base URL of Omnibus's HTTP listener (webhooks).
    #[arg(long, env = "OMNIBUS_HTTP", default_value = DEFAULT_HTTP)]
    pub http: String,
    /// Channel id (as returned by `channels create`).
    #[arg(long = "channel", value_name = "ID")]
    pub channel_id: String,
    /// The channel's `secret_token` credential.
    #[arg(long, value_name = "TOKEN")]
    pub secret: String,
    /// Telegram chat (and user) id.
    #[arg(long, default_value_t = 100_200_300, allow_negative_numbers = true)]
    pub chat_id: i64,
    /// Sender's first name.
    #[arg(long, default_value = "Sojan")]
    pub first_name: String,
    /// Sender's last name (empty omits it).
    #[arg(long, default_value = "Jose")]
    pub last_name: String,
    /// Sender's username (empty omits it).
    #[arg(long, default_value = "sojan")]
    pub username: String,
    /// Message text (the caption with --photo).
    #[arg(long, default_value = "Hello")]
    pub text: String,
    /// Send a photo (two sizes) with the text as caption.
    #[arg(long)]
    pub photo: bool,
    /// `update_id`; default derives from the current time in ms so runs differ.
    #[arg(long, value_name = "N")]
    pub update_id: Option<i64>,
    /// `message_id`; default derives from the update id.
    #[arg(long, value_name = "N")]
    pub message_id: Option<i64>,
}

// === value types and parsers ===

/// The API token; its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Returns the token as given.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

impl FromStr for ApiToken {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Parses a channel kind: `telegram`, `TELEGRAM` or `CHANNEL_KIND_TELEGRAM`.
pub fn parse_kind(name: &str) -> Result<ChannelKind, String> {
    omnibus_core::kind::parse(name).ok_or_else(|| {
        format!(
            "unknown channel kind {name:?}; use telegram, whatsapp, viber, vk, instagram or wazzup"
        )
    })
}

/// Parses a `KEY=VALUE` credential; the value may itself contain `=`.
pub fn parse_credential(arg: &str) -> Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(format!(
            "expected KEY=VALUE, got {:?}",
            redact_credential(arg)
        ));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err("the credential key before '=' is empty".to_owned());
    }
    if key.chars().any(char::is_whitespace) {
        return Err(format!("the credential key {key:?} contains whitespace"));
    }
    if value.is_empty() {
        return Err(format!("the credential {key:?} has an empty value"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Shows at most the first characters of a malformed credential, so an
/// error message never echoes a whole secret.
fn redact_credential(arg: &str) -> String {
    let shown: String = arg.chars().take(4).collect();
    if shown.len() < arg.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests;
