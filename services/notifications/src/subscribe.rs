//! One `Subscribe` stream: stored notifications after `after_id` first,
//! then live ones, with no gap and no duplicate between the two.
//!
//! The live receiver is taken *before* the stored ones are read. Anything
//! committed before that read is in the table; anything committed after it
//! is announced on the receiver; the overlap is dropped by comparing `ord`,
//! which only grows.

use std::collections::HashSet;

use omnibus_proto::{Notification, NotificationKind, SubscribeRequest};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::hub::{Hub, Live, Missed};
use crate::model::{StoredNotification, format_id, parse_id};
use crate::queries::Queries;
use crate::{Result, ServiceError};

/// Rows read from the table per query while catching up.
const PAGE: i64 = 500;
/// How long a lagging subscriber gets to take its final status.
const LAST_WORD: std::time::Duration = std::time::Duration::from_secs(5);

/// Who gets what: kinds and the operator filter of one subscriber.
#[derive(Debug, Clone)]
pub struct Filter {
    kinds: HashSet<i32>,
    operator_id: String,
}

impl Filter {
    /// True when the subscriber wants `note`.
    pub fn admits(&self, note: &StoredNotification) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&(note.kind as i32)))
            && (self.operator_id.is_empty()
                || note.operator_id.is_empty()
                || note.operator_id == self.operator_id)
    }
}

/// A validated subscription request.
pub struct Subscription {
    filter: Filter,
    after: Option<i64>,
}

impl Subscription {
    /// Checks the request; a malformed `after_id` is INVALID_ARGUMENT.
    pub fn parse(request: &SubscribeRequest) -> Result<Self> {
        let after = match request.after_id.as_str() {
            "" => None,
            id => Some(parse_id(id).ok_or_else(|| {
                ServiceError::invalid(format!(
                    "after_id {id:?} is not a notification id; pass the `id` of the last \
                     notification received (like \"1234-0\") or leave it empty"
                ))
            })?),
        };
        for kind in &request.kinds {
            if NotificationKind::try_from(*kind).is_err() || *kind == 0 {
                return Err(ServiceError::invalid(format!(
                    "unknown notification kind {kind}; leave kinds empty for every kind"
                )));
            }
        }
        let filter = Filter {
            kinds: request.kinds.iter().copied().collect(),
            operator_id: request.operator_id.clone(),
        };
        Ok(Self { filter, after })
    }
}

/// Feeds `tx` until the client goes away, the subscriber lags, or shutdown.
/// `live` must be taken from the hub, for the subscription's operator,
/// before this starts (see the module doc).
pub async fn run(
    subscription: Subscription,
    hub: Hub,
    mut live: Live,
    queries: Queries,
    tx: mpsc::Sender<Result<Notification, Status>>,
    shutdown: CancellationToken,
) {
    let _presence = (!subscription.filter.operator_id.is_empty())
        .then(|| hub.connect(&subscription.filter.operator_id));
    let mut last = subscription.after.unwrap_or(-1);
    // Set while replaying from the table is due: at the start with an
    // `after_id`, and again when the live buffer overflowed *during* a
    // replay (expected with a long backlog; the table has everything).
    let mut replay = subscription.after.is_some();
    let mut just_replayed = false;
    loop {
        if replay {
            match catch_up(&subscription.filter, &queries, &tx, &mut last).await {
                Ok(true) => (replay, just_replayed) = (false, true),
                Ok(false) => return,
                Err(err) => {
                    let _ = tx.send(Err(err.into())).await;
                    return;
                }
            }
        }
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            () = tx.closed() => return,
            next = live.recv() => next,
        };
        match next {
            Ok(note) => {
                just_replayed = false;
                if !forward(&subscription.filter, &tx, &note, &mut last).await {
                    return;
                }
            }
            Err(Missed::Lagged) if just_replayed => {
                // Fed again before the table is read, as at the start.
                live = hub.subscribe(&subscription.filter.operator_id);
                replay = true;
            }
            Err(Missed::Lagged) => {
                let status = lagged(live.capacity(), last);
                // Bounded: a stuck client must not keep this task forever.
                let _ = tokio::time::timeout(LAST_WORD, tx.send(Err(status))).await;
                return;
            }
            Err(Missed::Closed) => return,
        }
    }
}

/// Sends stored notifications after `last`; false when the client left.
async fn catch_up(
    filter: &Filter,
    queries: &Queries,
    tx: &mpsc::Sender<Result<Notification, Status>>,
    last: &mut i64,
) -> Result<bool> {
    loop {
        let page = queries.notifications_after(*last, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        for note in page {
            if !forward(filter, tx, &note, last).await {
                return Ok(false);
            }
        }
        if !full {
            return Ok(true);
        }
    }
}

/// Sends `note` unless filtered or already sent; false when the client left.
async fn forward(
    filter: &Filter,
    tx: &mpsc::Sender<Result<Notification, Status>>,
    note: &StoredNotification,
    last: &mut i64,
) -> bool {
    if note.ord <= *last {
        return true;
    }
    *last = note.ord;
    if !filter.admits(note) {
        return true;
    }
    tx.send(Ok(note.to_proto())).await.is_ok()
}

/// The final status of a subscriber that fell more than `capacity` behind.
fn lagged(capacity: usize, last: i64) -> Status {
    let resume = if last < 0 {
        "subscribe again".to_owned()
    } else {
        format!("subscribe again with after_id {:?}", format_id(last))
    };
    Status::resource_exhausted(format!(
        "this subscriber fell more than {capacity} notifications behind and was disconnected so others \
         are not delayed; {resume} to receive what it missed"
    ))
}
