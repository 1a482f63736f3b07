//! The body deadline: a request body that is not complete within the body
//! timeout of its headers fails, the handler answers, and hyper closes the
//! connection (its body was not read to the end).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::Body as HttpBody;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub(crate) struct BodyTimedOut(Duration);

/// `inner`, failing once `timeout` has passed before its end.
pub(crate) struct Deadline {
    inner: Body,
    timeout: Duration,
    expires: Pin<Box<Sleep>>,
    ended: bool,
}

impl Deadline {
    /// Starts the clock now (when the headers are complete).
    pub(crate) fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            ended: inner.is_end_stream(),
            inner,
            timeout,
            expires: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if this.expires.as_mut().poll(cx).is_ready() {
            this.ended = true;
            tracing::debug!(timeout = ?this.timeout, "request body timed out");
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout)))));
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = &frame {
            this.ended = true;
        }
        frame.map(|f| f.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
