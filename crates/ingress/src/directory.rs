//! The channels of one messenger, from the stream's channel snapshots.
//!
//! A background reader keeps the map current. A webhook for a channel the map
//! does not know yet (created a moment ago, possibly through another process)
//! or whose secret does not match (credentials just changed) re-reads the
//! channel's last snapshot straight from the stream, so `CreateChannel` and
//! `UpdateChannel` take effect for webhooks as soon as they return. A
//! replaced secret still matches the held copy, so while the reader is
//! behind a snapshot this very process published, every lookup re-reads its
//! channel: in one process (`serve all`, or an ingress beside the API that
//! changed the channel) the old secret is refused once the call returned;
//! across processes, once the reader caught up (milliseconds). Negative
//! answers are remembered briefly (for [`NEGATIVE_TTL`]), so repeating them does not
//! cost a stream lookup each time.

mod negative;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use omnibus_bus::snapshots::{Snapshot, follow_channel_snapshots};
use omnibus_bus::{Bus, BusError};
use omnibus_proto::{
    ChannelChanged, ChannelKind, ChannelState, ChannelStatus, Event, event::Payload,
};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

pub use negative::NEGATIVE_TTL;
use negative::NegativeCache;

/// A snapshot with the stream sequence it was stored at.
type Entry = (u64, Arc<ChannelState>);

/// Live channels of one messenger.
#[derive(Clone)]
pub struct ChannelDirectory {
    bus: Bus,
    kind: ChannelKind,
    channels: Arc<RwLock<HashMap<String, Entry>>>,
    negative: Arc<Mutex<NegativeCache>>,
    /// The stream sequence of the last snapshot the reader has seen, of
    /// any messenger.
    read_through: Arc<AtomicU64>,
}

impl ChannelDirectory {
    /// Starts following the channel snapshots of `kind` until `shutdown`.
    pub fn start(bus: Bus, kind: ChannelKind, shutdown: CancellationToken) -> Self {
        let directory = Self {
            bus,
            kind,
            channels: Arc::default(),
            negative: Arc::default(),
            read_through: Arc::default(),
        };
        tokio::spawn(directory.clone().follow(shutdown));
        directory
    }

    /// A live channel of this messenger, from memory.
    pub fn cached(&self, id: &str) -> Option<Arc<ChannelState>> {
        let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
        channels
            .get(id)
            .filter(|(_, state)| state.status != ChannelStatus::Deleted as i32)
            .map(|(_, state)| state.clone())
    }

    /// Every live channel of this messenger known in memory (Wazzup routes
    /// one account's deliveries among its channels).
    pub fn live(&self) -> Vec<Arc<ChannelState>> {
        let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
        channels
            .values()
            .filter(|(_, state)| state.status != ChannelStatus::Deleted as i32)
            .map(|(_, state)| state.clone())
            .collect()
    }

    /// The first live channel of this messenger, from memory, that
    /// `matches`: for a webhook that routes to several channels by a field
    /// of its body (Wazzup's `channelId`, kept as a credential).
    pub fn find(&self, matches: impl Fn(&ChannelState) -> bool) -> Option<Arc<ChannelState>> {
        let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
        channels
            .values()
            .map(|(_, state)| state)
            .find(|state| state.status != ChannelStatus::Deleted as i32 && matches(state))
            .cloned()
    }

    /// A live channel, re-read from the stream. `Ok(None)` when it does not
    /// exist, is deleted, or belongs to another messenger.
    pub async fn fresh(&self, id: &str) -> Result<Option<Arc<ChannelState>>, BusError> {
        if !omnibus_core::ids::is_valid_id(id) {
            return Ok(None);
        }
        let subject = self.bus.subjects().channel(id);
        if let Some((sequence, event)) = self.bus.last_event(&subject).await? {
            self.remember(sequence, &event);
        } else {
            return Ok(None);
        }
        Ok(self.cached(id))
    }

    /// The cached channel, or a fresh read when it is not known at all
    /// (unless it was found missing a moment ago).
    pub async fn get(&self, id: &str) -> Result<Option<Arc<ChannelState>>, BusError> {
        if self.behind_own_writes() {
            return self.fresh(id).await;
        }
        let known = {
            let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
            channels.contains_key(id)
        };
        if known {
            return Ok(self.cached(id));
        }
        if self.negative().is_unknown(id, Instant::now()) {
            return Ok(None);
        }
        let found = self.fresh(id).await?;
        if found.is_none() {
            self.negative().note_unknown(id, Instant::now());
        }
        Ok(found)
    }

    /// After a proof (`fingerprint`) did not verify against the held
    /// channel: a fresh read, unless this very proof already failed against
    /// a fresh read a moment ago (then the held channel).
    pub async fn recheck(
        &self,
        id: &str,
        fingerprint: u64,
    ) -> Result<Option<Arc<ChannelState>>, BusError> {
        if self.negative().is_refused(id, fingerprint, Instant::now()) {
            return Ok(self.cached(id));
        }
        self.fresh(id).await
    }

    /// The proof `fingerprint` failed for `id` after [`recheck`](Self::recheck).
    pub fn refused(&self, id: &str, fingerprint: u64) {
        self.negative()
            .note_refused(id, fingerprint, Instant::now());
    }

    /// True while this process published a channel snapshot the reader
    /// has not seen yet.
    fn behind_own_writes(&self) -> bool {
        self.bus.channels_written_through() > self.read_through.load(Ordering::Acquire)
    }

    fn negative(&self) -> std::sync::MutexGuard<'_, NegativeCache> {
        self.negative.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a snapshot if it is newer than the one held.
    fn remember(&self, sequence: u64, event: &Event) {
        let Some(Payload::ChannelChanged(ChannelChanged {
            state: Some(state), ..
        })) = &event.payload
        else {
            return;
        };
        if state.kind != self.kind as i32 {
            return;
        }
        let mut channels = self.channels.write().unwrap_or_else(|e| e.into_inner());
        if channels
            .get(&state.id)
            .is_some_and(|(held, _)| *held >= sequence)
        {
            return;
        }
        // Deleted channels stay as tombstones, so an older snapshot arriving
        // late cannot bring them back.
        channels.insert(state.id.clone(), (sequence, Arc::new(self.opened(state))));
        drop(channels);
        self.negative().forget(&state.id);
    }

    /// The snapshot with its credentials opened (sealed on the stream when
    /// `OMNIBUS_CREDENTIALS_KEY` is set). A credential no configured key opens
    /// stays sealed rather than missing (a missing optional secret, such as
    /// Wazzup's webhook token, would mean "no check"): verification against
    /// it fails closed until the key is configured.
    fn opened(&self, state: &ChannelState) -> ChannelState {
        let mut state = state.clone();
        let keyring = self.bus.keyring();
        for (name, value) in &mut state.credentials {
            match keyring.open(value) {
                Ok(plain) => *value = plain,
                Err(err) => tracing::error!(
                    channel_id = %state.id,
                    credential = %name,
                    error = %err,
                    "cannot open a stored credential"
                ),
            }
        }
        state
    }

    async fn follow(self, shutdown: CancellationToken) {
        let on_snapshot = |snapshot: Snapshot| {
            let sequence = snapshot.sequence;
            match Event::decode(snapshot.payload) {
                Ok(event) => self.remember(sequence, &event),
                Err(err) => tracing::warn!(sequence, error = %err, "undecodable channel snapshot"),
            }
            self.read_through.fetch_max(sequence, Ordering::AcqRel);
        };
        follow_channel_snapshots(
            &self.bus,
            "channel directory",
            &shutdown,
            on_snapshot,
            || {},
        )
        .await;
    }
}
