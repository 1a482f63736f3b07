//! How failed gRPC calls are logged. A client error (NOT_FOUND,
//! INVALID_ARGUMENT, …) is the caller's, not an incident: DEBUG. A call
//! without a valid API token is worth a WARN, but anyone can send many, so
//! at most one line per interval says how many there were. ERROR is kept
//! for what operators must act on: INTERNAL, UNAVAILABLE and the like.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::Code;
use tower_http::classify::GrpcFailureClass;
use tower_http::trace::OnFailure;

/// How often a WARN about unauthenticated calls may be logged.
const UNAUTHENTICATED_EVERY: Duration = Duration::from_secs(10);

/// The log level a failed call deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The caller's mistake.
    ClientError,
    /// No or a wrong API token (rate-limited WARN).
    Unauthenticated,
    /// Ours: operators should look.
    ServerError,
}

/// Classifies a gRPC status code.
pub fn severity(code: Code) -> Severity {
    match code {
        Code::Unauthenticated | Code::PermissionDenied => Severity::Unauthenticated,
        Code::Internal | Code::Unavailable | Code::Unknown | Code::DataLoss => {
            Severity::ServerError
        }
        _ => Severity::ClientError,
    }
}

/// The `on_failure` of the gRPC trace layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFailures;

static UNAUTHENTICATED: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

impl OnFailure<GrpcFailureClass> for LogFailures {
    fn on_failure(&mut self, class: GrpcFailureClass, latency: Duration, _: &tracing::Span) {
        let code = match &class {
            GrpcFailureClass::Code(code) => Code::from_i32(code.get()),
            GrpcFailureClass::Error(error) => {
                tracing::error!(%error, ?latency, "grpc call failed");
                return;
            }
        };
        match severity(code) {
            Severity::ClientError => tracing::debug!(?code, ?latency, "grpc call refused"),
            Severity::ServerError => tracing::error!(?code, ?latency, "grpc call failed"),
            Severity::Unauthenticated => {
                if let Some(calls) = unauthenticated_due(Instant::now()) {
                    tracing::warn!(
                        calls,
                        every = ?UNAUTHENTICATED_EVERY,
                        "grpc calls without a valid API token refused"
                    );
                }
            }
        }
    }
}

/// Counts one refused call; returns how many to report when a line is due.
fn unauthenticated_due(now: Instant) -> Option<u64> {
    let mut window = UNAUTHENTICATED.lock().unwrap_or_else(|p| p.into_inner());
    match &mut *window {
        Some((since, count)) if now.duration_since(*since) < UNAUTHENTICATED_EVERY => {
            *count += 1;
            None
        }
        Some((since, count)) => {
            let calls = *count + 1;
            *since = now;
            *count = 0;
            Some(calls)
        }
        None => {
            *window = Some((now, 0));
            Some(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_not_incidents() {
        for code in [
            Code::NotFound,
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::AlreadyExists,
            Code::Aborted,
            Code::Cancelled,
        ] {
            assert_eq!(severity(code), Severity::ClientError, "{code:?}");
        }
        assert_eq!(severity(Code::Unauthenticated), Severity::Unauthenticated);
        assert_eq!(severity(Code::Internal), Severity::ServerError);
        assert_eq!(severity(Code::Unavailable), Severity::ServerError);
    }

    #[test]
    fn unauthenticated_calls_are_counted_not_each_logged() {
        let start = Instant::now();
        let first = unauthenticated_due(start);
        assert!(first.is_some());
        for _ in 0..99 {
            assert_eq!(unauthenticated_due(start + Duration::from_secs(1)), None);
        }
        let next = unauthenticated_due(start + UNAUTHENTICATED_EVERY * 2);
        assert_eq!(next, Some(100), "the 99 quiet ones and this one");
    }
}
