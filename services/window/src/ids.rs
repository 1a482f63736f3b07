//! Deterministic ids of the events the window service publishes.
//!
//! Each names the message it acts on, so a repeated action (a restart, a
//! second replica, a retried publish) carries the same `Nats-Msg-Id` and
//! JetStream keeps one. A message the provider sent back as outside the
//! window is decided again: `attempt` keeps the ids of that second round
//! apart from the first, which JetStream would otherwise drop.

/// Prefix of every event id the window service publishes.
pub const PREFIX: &str = "window:";
/// A request forwarded (or released) to the ingress.
pub const SEND: &str = "window:send:";
/// The default template that reopens a window.
pub const TEMPLATE: &str = "window:template:";
/// A message held until the customer answers.
pub const HELD: &str = "window:held:";

/// The forward of `message_id`: `window:send:<id>` the first time.
pub fn send(message_id: &str, attempt: i64) -> String {
    with_attempt(SEND, message_id, attempt)
}

/// The default template sent when `message_id` was held.
pub fn template(message_id: &str, attempt: i64) -> String {
    with_attempt(TEMPLATE, message_id, attempt)
}

/// The hold of `message_id`.
pub fn held(message_id: &str, attempt: i64) -> String {
    with_attempt(HELD, message_id, attempt)
}

/// The refusal of `message_id`.
pub fn failed(message_id: &str, attempt: i64) -> String {
    with_attempt("window:failed:", message_id, attempt)
}

/// The expiry of held `message_id`.
pub fn expired(message_id: &str, attempt: i64) -> String {
    with_attempt("window:expired:", message_id, attempt)
}

fn with_attempt(prefix: &str, message_id: &str, attempt: i64) -> String {
    if attempt == 0 {
        format!("{prefix}{message_id}")
    } else {
        format!("{prefix}{message_id}:{attempt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_message_and_later_attempts() {
        assert_eq!(send("msg_1", 0), "window:send:msg_1");
        assert_eq!(send("msg_1", 1), "window:send:msg_1:1");
        assert!(held("msg_1", 0).starts_with(HELD));
        assert!(template("msg_1", 2).starts_with(TEMPLATE));
        assert!(failed("m", 0).starts_with(PREFIX) && expired("m", 0).starts_with(PREFIX));
        assert_ne!(failed("m", 0), expired("m", 0));
    }
}
