//! Where each conversation's messages go, kept in memory: the one read a
//! `SendMessage` makes before it publishes, skipped while no channel changed
//! since it was made.
//!
//! A send target (the conversation's channel and provider chat, the
//! channel's kind, status and bot) changes only with a channel snapshot
//! (`ChannelChanged`): a channel deleted, its bot replaced, or conversations
//! moved to a channel that re-creates theirs (the lineage rule). So the
//! whole map is dropped at every snapshot: at once in the process that
//! stored it, and within the stream's delivery time in every other replica,
//! whose reader follows the channel subjects. That is as fresh as the
//! database the read would go to, which another replica's snapshot also
//! reaches only once the projection applied it.
//!
//! A target read from the database is kept only when the view it was read
//! from had applied the latest snapshot known when the read began, and no
//! snapshot came during the read. Until its reader has caught up (at start,
//! and again after it failed), nothing is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use omnibus_bus::Bus;
use omnibus_bus::snapshots::{Snapshot, follow_channel_snapshots};
use tokio_util::sync::CancellationToken;

use crate::queries::SendTarget;

/// Most conversations kept; the map starts over when full.
const MAX_TARGETS: usize = 100_000;

/// The send targets this process read, valid until the next channel snapshot.
#[derive(Debug, Default)]
pub struct SendTargets {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    targets: HashMap<String, SendTarget>,
    /// The stream sequence of the latest channel snapshot known.
    latest_snapshot: u64,
    /// Bumped with every snapshot: a read that began before one may have
    /// seen what it changed.
    generation: u64,
    /// Whether the reader has caught up with the channel snapshots.
    following: bool,
}

/// What a database read must be checked against before its target is kept.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    /// The view must have applied this far when the read begins.
    pub needs_applied: u64,
}

impl SendTargets {
    /// The kept target of `conversation_id`.
    pub fn get(&self, conversation_id: &str) -> Option<SendTarget> {
        self.state().targets.get(conversation_id).cloned()
    }

    /// Taken before reading a target from the database; `None` while
    /// nothing may be kept.
    pub fn ticket(&self) -> Option<Ticket> {
        let state = self.state();
        state.following.then_some(Ticket {
            generation: state.generation,
            needs_applied: state.latest_snapshot,
        })
    }

    /// Keeps `target`, read under `ticket` from a view that had applied
    /// `ticket.needs_applied` when the read began, unless a snapshot came since.
    pub fn keep(&self, conversation_id: &str, target: &SendTarget, ticket: Ticket) {
        let mut state = self.state();
        if !state.following || state.generation != ticket.generation {
            return;
        }
        if state.targets.len() >= MAX_TARGETS {
            state.targets.clear();
        }
        state
            .targets
            .insert(conversation_id.to_owned(), target.clone());
    }

    /// A channel snapshot was stored at `sequence`: every target may be stale.
    pub fn channel_changed(&self, sequence: u64) {
        let mut state = self.state();
        state.latest_snapshot = state.latest_snapshot.max(sequence);
        state.generation += 1;
        state.targets.clear();
    }

    /// Whether the reader is caught up; when it is not, nothing is kept.
    fn set_following(&self, following: bool) {
        let mut state = self.state();
        if !following {
            state.generation += 1;
            state.targets.clear();
        }
        state.following = following;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Follows the channel snapshots on the stream into `targets` until
/// `shutdown`; nothing is kept while the reader is behind or starting over.
pub async fn follow(bus: Bus, targets: Arc<SendTargets>, shutdown: CancellationToken) {
    let on_snapshot = |snapshot: Snapshot| {
        targets.channel_changed(snapshot.sequence);
        if snapshot.pending == 0 {
            targets.set_following(true);
        }
    };
    let on_lost = || targets.set_following(false);
    follow_channel_snapshots(&bus, "send targets", &shutdown, on_snapshot, on_lost).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(channel_id: &str) -> SendTarget {
        SendTarget {
            channel_id: channel_id.into(),
            provider_chat_id: "42".into(),
            channel: Some((1, 1)),
            bot_id: String::new(),
        }
    }

    fn following() -> SendTargets {
        let targets = SendTargets::default();
        targets.channel_changed(7);
        targets.set_following(true);
        targets
    }

    #[test]
    fn nothing_is_kept_until_the_reader_caught_up() {
        let targets = SendTargets::default();
        assert!(targets.ticket().is_none());
        targets.set_following(true);
        let ticket = targets.ticket().expect("following");
        targets.keep("cv_1", &target("ch_1"), ticket);
        assert_eq!(targets.get("cv_1").unwrap().channel_id, "ch_1");
        targets.set_following(false);
        assert!(
            targets.get("cv_1").is_none(),
            "dropped when the reader stops"
        );
        assert!(targets.ticket().is_none());
    }

    #[test]
    fn a_read_must_see_the_latest_snapshot_known_when_it_began() {
        let targets = following();
        assert_eq!(targets.ticket().unwrap().needs_applied, 7);
        targets.channel_changed(9);
        assert_eq!(targets.ticket().unwrap().needs_applied, 9);
        targets.channel_changed(8);
        assert_eq!(
            targets.ticket().unwrap().needs_applied,
            9,
            "never goes back"
        );
    }

    #[test]
    fn a_snapshot_drops_every_target_and_the_reads_begun_before_it() {
        let targets = following();
        let ticket = targets.ticket().unwrap();
        targets.keep("cv_1", &target("ch_1"), ticket);
        let begun_before = targets.ticket().unwrap();
        targets.channel_changed(10);
        assert!(targets.get("cv_1").is_none());
        targets.keep("cv_2", &target("ch_1"), begun_before);
        assert!(targets.get("cv_2").is_none(), "read before the snapshot");
        let ticket = targets.ticket().unwrap();
        targets.keep("cv_2", &target("ch_2"), ticket);
        assert_eq!(targets.get("cv_2").unwrap().channel_id, "ch_2");
    }

    #[test]
    fn the_map_starts_over_when_full() {
        let targets = following();
        let ticket = targets.ticket().unwrap();
        for i in 0..MAX_TARGETS {
            targets.keep(&format!("cv_{i}"), &target("ch_1"), ticket);
        }
        targets.keep("cv_last", &target("ch_1"), ticket);
        assert!(targets.get("cv_0").is_none());
        assert!(targets.get("cv_last").is_some());
        assert_eq!(targets.state().targets.len(), 1);
    }
}
