//! What the stand-in remembers between calls. One mutex, never held across
//! an `.await`: every operation is a short critical section.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Recorded, Scripted};

#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Media customers sent: `GET /<version>/<media id>` describes one, and
    /// `/media-cdn/<media id>` (with the token) serves it.
    pub(crate) media: omnibus_standin::Files,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                page_size: 25,
                ..Inner::default()
            }),
            media: omnibus_standin::Files::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    sent: Vec<Recorded>,
    scripts: VecDeque<Scripted>,
    only_token: Option<String>,
    templates: Vec<serde_json::Value>,
    page_size: usize,
    last_message: u64,
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

    /// False when [`Self::only_token`] was set to another token.
    pub(crate) fn token_allowed(&self, token: &str) -> bool {
        self.lock()
            .only_token
            .as_deref()
            .is_none_or(|allowed| allowed == token)
    }

    pub(crate) fn set_templates(&self, templates: Vec<serde_json::Value>) {
        self.lock().templates = templates;
    }

    pub(crate) fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    /// Templates from `offset`, at most `limit` (capped by the page size),
    /// and whether more follow.
    pub(crate) fn templates_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> (Vec<serde_json::Value>, bool) {
        let inner = self.lock();
        let take = limit.clamp(1, inner.page_size);
        let page: Vec<_> = inner
            .templates
            .iter()
            .skip(offset)
            .take(take)
            .cloned()
            .collect();
        let more = offset + page.len() < inner.templates.len();
        (page, more)
    }

    pub(crate) fn record(&self, call: Recorded) {
        self.lock().requests.push(call);
    }

    pub(crate) fn record_sent(&self, call: Recorded) {
        self.lock().sent.push(call);
    }

    /// A fresh wamid, shaped like Meta's (base64 of the number and a key).
    pub(crate) fn next_wamid(&self) -> String {
        let mut inner = self.lock();
        inner.last_message += 1;
        format!(
            "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{:016X}QzM0OTJBAA==",
            inner.last_message
        )
    }
}
