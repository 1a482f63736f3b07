//! What the stand-in remembers between calls. One mutex, never held across
//! an `.await`: every operation is a short critical section.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Recorded, Scripted};

#[derive(Debug, Default)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    sent: Vec<Recorded>,
    scripts: VecDeque<Scripted>,
    only_token: Option<String>,
    unsubscribed: HashSet<String>,
    webhook: Option<String>,
    last_token: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not take every later assertion down.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub(crate) fn sent(&self) -> Vec<Recorded> {
        self.lock().sent.clone()
    }

    pub(crate) fn script(&self, reply: Scripted) {
        self.lock().scripts.push_back(reply);
    }

    pub(crate) fn next_script(&self) -> Option<Scripted> {
        self.lock().scripts.pop_front()
    }

    pub(crate) fn only_token(&self, token: &str) {
        self.lock().only_token = Some(token.to_owned());
    }

    /// False for an empty token, or another than [`Self::only_token`].
    pub(crate) fn token_allowed(&self, token: &str) -> bool {
        !token.is_empty()
            && self
                .lock()
                .only_token
                .as_deref()
                .is_none_or(|allowed| allowed == token)
    }

    pub(crate) fn set_subscribed(&self, user_id: &str, subscribed: bool) {
        let mut inner = self.lock();
        if subscribed {
            inner.unsubscribed.remove(user_id);
        } else {
            inner.unsubscribed.insert(user_id.to_owned());
        }
    }

    pub(crate) fn is_subscribed(&self, user_id: &str) -> bool {
        !self.lock().unsubscribed.contains(user_id)
    }

    pub(crate) fn webhook(&self) -> Option<String> {
        self.lock().webhook.clone()
    }

    pub(crate) fn set_webhook(&self, url: Option<String>) {
        self.lock().webhook = url;
    }

    pub(crate) fn record(&self, call: Recorded) {
        self.lock().requests.push(call);
    }

    pub(crate) fn record_sent(&self, call: Recorded) {
        self.lock().sent.push(call);
    }

    /// A fresh message token, a large 64-bit number as Viber's are.
    pub(crate) fn next_token(&self) -> u64 {
        let mut inner = self.lock();
        inner.last_token += 1;
        5_098_034_272_017_990_000 + inner.last_token
    }
}
