//! Leases: one replica at a time does a job that must not run twice at once
//! (applying a projection into a shared database, delivering one
//! messenger's outbound queue in order).
//!
//! A lease is a key in a JetStream key-value bucket whose entries expire
//! after `ttl`. The holder creates the key (which fails while another holder
//! has it) and renews it every `ttl / 3`; a holder that dies stops renewing
//! and the key expires, so another replica takes over within about `ttl`. A
//! graceful stop deletes the key, and the next replica takes over at once.
//!
//! A holder that cannot renew for `2/3 ttl` gives the job up before the key
//! can expire, so two holders overlap only if a process stalls for longer
//! than that without noticing, which the work itself must tolerate (the
//! projections' handlers are idempotent, sends are at-least-once).

use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError};

/// How long a lease outlives its last renewal.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6);

/// The lease bucket of a stream, shared by every replica of every service.
#[derive(Clone)]
pub struct Leases {
    kv: kv::Store,
    holder: String,
    ttl: Duration,
}

impl Leases {
    /// Opens (or creates) the bucket `<STREAM>_leases` with entries living `ttl`.
    pub async fn open(bus: &Bus, ttl: Duration) -> Result<Self, BusError> {
        let kv = crate::bucket::open(
            bus,
            "leases",
            "which replica holds which job (omnibus_bus::lease)",
            ttl,
        )
        .await?;
        let holder = format!(
            "{}-{}-{:08x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        );
        Ok(Self { kv, holder, ttl })
    }

    /// Takes the lease `name` if nobody holds it. While held, it is renewed
    /// in the background; `work` is cancelled when it is lost.
    pub async fn try_acquire(
        &self,
        name: &str,
        work: CancellationToken,
    ) -> Result<Option<Lease>, BusError> {
        match self.kv.create(name, self.holder.clone().into()).await {
            Ok(revision) => {
                tracing::info!(lease = name, holder = %self.holder, "lease taken");
                let renewer =
                    tokio::spawn(renew(self.clone(), name.to_owned(), revision, work.clone()));
                Ok(Some(Lease {
                    leases: self.clone(),
                    name: name.to_owned(),
                    work,
                    renewer,
                }))
            }
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(err) => Err(BusError::unavailable(err)),
        }
    }

    /// How often a replica without the lease should try again.
    pub fn retry_every(&self) -> Duration {
        self.ttl / 6
    }
}

/// The lease bucket, retried until NATS answers; `None` when shut down first.
pub(crate) async fn open_retrying(bus: &Bus, shutdown: &CancellationToken) -> Option<Leases> {
    let mut failures = 0u32;
    loop {
        match Leases::open(bus, DEFAULT_TTL).await {
            Ok(leases) => return Some(leases),
            Err(err) => {
                failures += 1;
                let delay = crate::projection::backoff(failures);
                tracing::warn!(error = %err, ?delay, "cannot open the lease bucket, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Runs `job` whenever this replica holds the lease `name`, until
/// `shutdown`: `job` gets a token cancelled when the lease is lost (or at
/// shutdown) and should return then; the lease is released after it.
pub async fn take_turns<F, Fut>(bus: &Bus, name: &str, shutdown: &CancellationToken, mut job: F)
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(leases) = open_retrying(bus, shutdown).await else {
        return;
    };
    while !shutdown.is_cancelled() {
        let work = shutdown.child_token();
        match leases.try_acquire(name, work.clone()).await {
            Ok(Some(lease)) => {
                job(work).await;
                lease.release().await;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(lease = name, error = %err, "cannot ask for the lease"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(leases.retry_every()) => {}
        }
    }
}

/// A lease held by this process.
pub struct Lease {
    leases: Leases,
    name: String,
    work: CancellationToken,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Gives the lease back so another replica takes over at once.
    pub async fn release(mut self) {
        self.renewer.abort();
        let _ = (&mut self.renewer).await;
        if (!self.work.is_cancelled() || self.still_mine().await)
            && let Err(err) = self.leases.kv.delete(&self.name).await
        {
            tracing::warn!(lease = %self.name, error = %err, "cannot release a lease; it expires by itself");
        }
        tracing::info!(lease = %self.name, "lease released");
    }

    async fn still_mine(&self) -> bool {
        matches!(
            self.leases.kv.get(&self.name).await,
            Ok(Some(holder)) if holder == self.leases.holder.as_bytes()
        )
    }
}

/// Renews every `ttl / 3`; cancels `work` once the lease may be gone.
async fn renew(leases: Leases, name: String, mut revision: u64, work: CancellationToken) {
    let mut renewed_at = Instant::now();
    loop {
        tokio::select! {
            () = work.cancelled() => return,
            () = tokio::time::sleep(leases.ttl / 3) => {}
        }
        match leases
            .kv
            .update(&name, leases.holder.clone().into(), revision)
            .await
        {
            Ok(next) => {
                revision = next;
                renewed_at = Instant::now();
            }
            Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                tracing::warn!(lease = %name, "lease taken over by another replica; stopping");
                work.cancel();
                return;
            }
            Err(err) if renewed_at.elapsed() >= leases.ttl * 2 / 3 => {
                tracing::warn!(lease = %name, error = %err, "cannot renew the lease in time; stopping");
                work.cancel();
                return;
            }
            Err(err) => {
                tracing::warn!(lease = %name, error = %err, "lease renewal failed, retrying")
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}
