//! Feeds the in-memory [`State`] from the stream through the shared
//! projection runner. The state lives only for one term, so every term
//! reads from the start (`applied_through` is what this term has read).

use std::sync::{Arc, Mutex};

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected};
use tokio::sync::Notify;

use crate::state::State;

/// The durable consumer's name.
pub const NAME: &str = "routing";

/// The router's reader.
pub struct RouterProjection {
    state: Arc<Mutex<State>>,
    /// Wakes the publisher after each batch.
    changed: Arc<Notify>,
}

impl RouterProjection {
    /// A reader into `state`, waking `changed` after each batch.
    pub fn new(state: Arc<Mutex<State>>, changed: Arc<Notify>) -> Self {
        Self { state, changed }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Projection for RouterProjection {
    fn name(&self) -> &str {
        NAME
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        Ok(self.state().applied)
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        {
            let mut state = self.state();
            for delivery in batch {
                match &delivery.event {
                    Ok(event) => state.apply(delivery.sequence, event),
                    // Undecodable events are parked by the projections
                    // that own them; the router only skips them.
                    Err(_) => state.applied = state.applied.max(delivery.sequence),
                }
            }
        }
        self.changed.notify_one();
        Ok(Vec::new())
    }
}
