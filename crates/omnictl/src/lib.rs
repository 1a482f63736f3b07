//! `omnictl`, the command-line client of the Omnibus gRPC API, as a library
//! so tests can drive it in-process: [`run_with`] runs a parsed [`Cli`] and
//! writes its output to any writer; [`telegram_update_json`] builds the
//! payload `simulate telegram` posts.
//!
//! # Layout
//! - [`cli`]: the command tree (clap derive) and argument parsers
//! - [`client`]: the connection, the bearer-token interceptor, page following
//! - [`channels`], [`conversations`], [`messages`], [`contacts`]: one module per command group
//! - [`simulate`]: realistic provider webhooks posted to a running server
//! - [`templates`]: templates and the 24-hour window (`templates …`, `window`)
//! - [`watch`]: the notification stream, printed for a person
//! - [`webhooks`], [`operators`]: outbound webhooks and operators' figures
//! - [`call`]: any unary method by name, over gRPC reflection
//! - [`reflect`]: protobuf JSON of any API type (prost-reflect)
//! - [`output`]: tables and `key: value` blocks; [`json`]: prost types to JSON
//! - [`error`]: the typed errors and how they read on stderr

pub mod call;
pub mod channels;
pub mod cli;
pub mod client;
pub mod contacts;
pub mod conversations;
pub mod error;
pub mod events;
pub mod groups;
pub mod json;
pub mod media;
pub mod messages;
pub mod operators;
pub mod output;
pub mod reflect;
pub mod simulate;
pub mod templates;
pub mod watch;
pub mod wazzup_pick;
pub mod webhooks;

use std::io::Write;

use cli::MessagesCmd;
pub use cli::{Cli, Command};
pub use error::{describe, exit_code};
pub use simulate::{TelegramMessageSpec, telegram_update_json};

use client::Api;
use output::Output;

/// Runs one command, writing its result to stdout.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    run_with(cli, &mut stdout).await
}

/// Runs one command, writing its result (a table, a block or one JSON
/// document) to `out`. Connects to the API only for commands that use it.
pub async fn run_with(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    cli.validate()?;
    let api = cli.command.api_name();
    run_command(cli, out)
        .await
        .map_err(|err| error::explain_unimplemented(err, api))
}

async fn run_command(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut output = Output::new(cli.json, out);
    let connect = || Api::connect(&cli.addr, cli.token.as_ref());
    match cli.command {
        Command::Channels(cmd) => channels::run(&connect().await?, cmd, &mut output).await,
        Command::Conversations(cmd) => {
            conversations::run(&connect().await?, cmd, &mut output).await
        }
        Command::Messages(MessagesCmd::Media(args)) => {
            media::download(args, cli.token.as_ref(), &mut output).await
        }
        Command::Messages(cmd) => messages::run(&connect().await?, cmd, &mut output).await,
        Command::Contacts(cmd) => contacts::run(&connect().await?, cmd, &mut output).await,
        Command::Simulate(cmd) => simulate::run(cmd, &mut output).await,
        Command::Templates(cmd) => templates::run(&connect().await?, cmd, &mut output).await,
        Command::Window(args) => templates::window(&connect().await?, args, &mut output).await,
        Command::Watch(args) => watch::run(&cli.addr, cli.token.as_ref(), args, &mut output).await,
        Command::Webhooks(cmd) => webhooks::run(&connect().await?, cmd, &mut output).await,
        Command::Operators(cmd) => operators::run(&connect().await?, cmd, &mut output).await,
        Command::Groups(cmd) => groups::run(&connect().await?, cmd, &mut output).await,
        Command::Call(args) => call::run(&connect().await?, args, &mut output).await,
    }
}
