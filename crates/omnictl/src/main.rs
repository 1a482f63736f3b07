//! `omnictl`: parses the command line, runs it, and maps failures to
//! `error: …` (a JSON object with `--json`) on stderr with exit code 1 (2 for usage errors).

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser as _;
use omnictl::Cli;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors print clap's message (a JSON object with --json) and
    // exit 2 here; --help and --version print as usual.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() && std::env::args().any(|a| a == "--json") => {
            eprintln!("{}", omnictl::error::clap_to_json(&err));
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
        Err(err) => err.exit(),
    };
    let json = cli.json;
    match omnictl::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            if json {
                eprintln!("{}", omnictl::error::to_json(&err));
            } else {
                eprintln!("error: {}", omnictl::describe(&err));
            }
            ExitCode::from(omnictl::exit_code(&err))
        }
    }
}

/// Output piped into `head` and closed early is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
}
