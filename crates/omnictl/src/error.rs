//! The errors omnictl reports and how they read on stderr.
//!
//! Commands return `anyhow::Error`; [`describe`] and [`exit_code`] look for
//! the typed errors below (and `tonic::Status`) inside it.

use std::error::Error as StdError;
use std::fmt;

use tonic::{Code, Status};

/// A usage error found after clap's parsing (exit code 2).
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    /// Builds a usage error with a message a person can act on.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for UsageError {}

/// The API (or the webhook listener) could not be reached at all.
#[derive(Debug)]
pub struct ConnectError {
    addr: String,
    reason: String,
}

impl ConnectError {
    /// Builds the error from the address tried and the transport's error,
    /// keeping the root cause (e.g. "Connection refused (os error 111)").
    pub fn new(addr: &str, err: &(dyn StdError + 'static)) -> Self {
        Self {
            addr: addr.to_owned(),
            reason: root_cause(err),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot reach Omnibus at {}: {} (is `omnibus serve all` running?)",
            self.addr, self.reason
        )
    }
}

impl StdError for ConnectError {}

/// A webhook answered with a status other than 2xx.
#[derive(Debug)]
pub struct HttpStatusError {
    /// The HTTP status code.
    pub status: u16,
    /// Its canonical reason phrase, e.g. "Unauthorized".
    pub reason: String,
    /// What the status means for a simulated delivery.
    pub hint: String,
}

impl fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.reason, self.hint)
    }
}

impl StdError for HttpStatusError {}

/// Returns the line printed after `error: ` for a failed command.
pub fn describe(err: &anyhow::Error) -> String {
    if let Some(status) = err.downcast_ref::<Status>() {
        return describe_status(status);
    }
    format!("{err:#}")
}

/// Which `omnibus serve <service>` serves the API a command uses, for an
/// UNIMPLEMENTED answer from a server running a single service.
pub fn serving_service(api: &str) -> &'static str {
    match api {
        "NotificationService" | "OperatorService" => "notifications",
        "TemplateService" => "window",
        _ => "conversations",
    }
}

/// Rewrites UNIMPLEMENTED into a message naming the service that serves
/// `api`; other errors pass through.
pub fn explain_unimplemented(err: anyhow::Error, api: Option<&str>) -> anyhow::Error {
    let Some(api) = api else {
        return err;
    };
    match err.downcast_ref::<Status>() {
        Some(status) if status.code() == Code::Unimplemented => Status::unimplemented(format!(
            "this server does not serve omnibus.v1.{api}; it is served by \
             `omnibus serve {}` (or `omnibus serve all`)",
            serving_service(api)
        ))
        .into(),
        _ => err,
    }
}

/// The error as one JSON object, for `--json` on stderr:
/// `{"error": {"code": "NOT_FOUND", "message": "…"}}`.
pub fn to_json(err: &anyhow::Error) -> serde_json::Value {
    let code = match err.downcast_ref::<Status>() {
        Some(status) => code_name(status.code()),
        None if err.downcast_ref::<UsageError>().is_some() => "USAGE",
        None if err.downcast_ref::<ConnectError>().is_some() => "UNREACHABLE",
        None if err.downcast_ref::<HttpStatusError>().is_some() => "HTTP",
        None => "ERROR",
    };
    let message = match err.downcast_ref::<Status>() {
        Some(status) => status.message().to_owned(),
        None => format!("{err:#}"),
    };
    serde_json::json!({"error": {"code": code, "message": message, "exit_code": exit_code(err)}})
}

/// A command-line parsing error as the same JSON object, for `--json`.
pub fn clap_to_json(err: &clap::Error) -> serde_json::Value {
    let text = err.render().to_string();
    let message = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    serde_json::json!({"error": {"code": "USAGE", "message": message, "exit_code": err.exit_code()}})
}

/// Returns the process exit code for a failed command: 2 for usage errors,
/// 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// Reads `<CODE>: <message>`, e.g. `NOT_FOUND: no channel ch_1`.
pub fn describe_status(status: &Status) -> String {
    let message = status.message();
    if message.is_empty() {
        code_name(status.code()).to_owned()
    } else {
        format!("{}: {message}", code_name(status.code()))
    }
}

/// The canonical upper-case name of a gRPC code.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The innermost error of a chain, which names what actually went wrong.
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_code_and_message() {
        let err = anyhow::Error::new(Status::not_found("no channel ch_1"));
        assert_eq!(describe(&err), "NOT_FOUND: no channel ch_1");
        assert_eq!(exit_code(&err), 1);
        let bare = anyhow::Error::new(Status::unauthenticated(""));
        assert_eq!(describe(&bare), "UNAUTHENTICATED");
    }

    #[test]
    fn unimplemented_names_the_serving_service() {
        let err = anyhow::Error::new(Status::unimplemented(""));
        let err = explain_unimplemented(err, Some("NotificationService"));
        let text = describe(&err);
        assert!(text.starts_with("UNIMPLEMENTED: "), "{text}");
        assert!(text.contains("omnibus serve notifications"), "{text}");
        let other = explain_unimplemented(Status::not_found("x").into(), Some("TemplateService"));
        assert_eq!(describe(&other), "NOT_FOUND: x");
    }

    #[test]
    fn errors_read_as_json_objects() {
        let err = anyhow::Error::new(Status::not_found("no channel ch_1"));
        let value = to_json(&err);
        assert_eq!(value["error"]["code"], "NOT_FOUND");
        assert_eq!(value["error"]["message"], "no channel ch_1");
        let usage = to_json(&UsageError::new("nothing to update").into());
        assert_eq!(usage["error"]["code"], "USAGE");
        assert_eq!(usage["error"]["exit_code"], 2);
    }

    #[test]
    fn parse_errors_read_as_json_too() {
        use clap::Parser as _;
        let err = crate::Cli::try_parse_from(["omnictl", "--json", "webhooks", "create", "--url"])
            .unwrap_err();
        let value = clap_to_json(&err);
        assert_eq!(value["error"]["code"], "USAGE");
        assert_eq!(value["error"]["exit_code"], 2);
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--url"),
            "{value}"
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        let err = anyhow::Error::new(UsageError::new("nothing to update"));
        assert_eq!(exit_code(&err), 2);
        assert_eq!(describe(&err), "nothing to update");
    }

    #[test]
    fn connect_errors_name_the_address_and_the_root_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let err = ConnectError::new("http://127.0.0.1:1", &io);
        assert_eq!(
            err.to_string(),
            "cannot reach Omnibus at http://127.0.0.1:1: connection refused \
             (is `omnibus serve all` running?)"
        );
    }
}
