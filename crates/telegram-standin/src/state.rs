//! What the stand-in remembers between calls. One mutex, never held across
//! an `.await`: every operation is a short critical section.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Recorded, Scripted, Webhook};

#[derive(Debug, Default)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Files behind `getFile`, downloaded from `/file/bot<token>/<path>`.
    pub(crate) files: omnibus_standin::Files,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    sent: Vec<Recorded>,
    /// Keyed by the lowercased method: Telegram's method names are
    /// case-insensitive.
    scripts: HashMap<String, VecDeque<Scripted>>,
    only_token: Option<String>,
    webhooks: HashMap<String, Webhook>,
    last_message_id: i64,
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

    pub(crate) fn script(&self, method: &str, reply: Scripted) {
        self.lock()
            .scripts
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(reply);
    }

    pub(crate) fn only_token(&self, token: &str) {
        self.lock().only_token = Some(token.to_owned());
    }

    pub(crate) fn webhook(&self, token: &str) -> Option<Webhook> {
        self.lock().webhooks.get(token).cloned()
    }

    pub(crate) fn record(&self, call: Recorded) {
        self.lock().requests.push(call);
    }

    pub(crate) fn record_sent(&self, call: Recorded) {
        self.lock().sent.push(call);
    }

    /// False when [`Self::only_token`] was set to another token.
    pub(crate) fn token_allowed(&self, token: &str) -> bool {
        self.lock()
            .only_token
            .as_deref()
            .is_none_or(|allowed| allowed == token)
    }

    /// Takes the next scripted reply of `method`, if one is queued.
    pub(crate) fn next_script(&self, method: &str) -> Option<Scripted> {
        self.lock()
            .scripts
            .get_mut(&method.to_ascii_lowercase())
            .and_then(VecDeque::pop_front)
    }

    /// A fresh message id, increasing across all chats like a small bot's.
    pub(crate) fn next_message_id(&self) -> i64 {
        let mut inner = self.lock();
        inner.last_message_id += 1;
        inner.last_message_id
    }

    /// Registers (or, with `None`, deletes) the webhook of `token`.
    pub(crate) fn set_webhook(&self, token: &str, webhook: Option<Webhook>) {
        let mut inner = self.lock();
        match webhook {
            Some(webhook) => inner.webhooks.insert(token.to_owned(), webhook),
            None => inner.webhooks.remove(token),
        };
    }
}
