//! The one projection runner: what every SQL projection does around its
//! own rules, written once.
//!
//! A batch of deliveries commits in one transaction together with its
//! checkpoint. Inside it, each run of events (one event, or several a
//! projection applies together) gets a savepoint: an event the database
//! refuses ([`is_refusal`]) is rolled back alone and rejected, to be parked
//! by the reader; a run that is refused is retried one event at a time, so
//! a single event is simply a run of one and every rule lives in one apply
//! path. Any other error rolls the whole batch back and the reader retries
//! it. What a projection hands on after a commit (notifications, timers to
//! arm, wake-ups) comes only from savepoints that committed, and only once
//! the transaction did. A batch that is a single run (most of live
//! traffic, and every batch of a projection that applies whole batches
//! together) is first applied without a savepoint; only when the database
//! refuses it is it rolled back and applied again run by run.
//!
//! A batch whose events the projection can each write as a [`Shot`] (on
//! PostgreSQL a batch of one, on SQLite up to [`MAX_JOINED_SHOTS`] joined
//! into one script) goes to the database in one round trip together with
//! its `BEGIN`, checkpoint and `COMMIT`, instead of three or more: live
//! traffic's batches are a few events, and the round trips, not the SQL,
//! were most of their time.
//!
//! A projection that keeps in memory what its tables hold (it is their one
//! writer) may apply a batch in memory first ([`Rules::apply_in_memory`]):
//! what it still reads it reads outside any transaction, and what it would
//! write comes back as shots, which go to the database with the `BEGIN`,
//! checkpoint and `COMMIT` in one round trip, instead of a round trip for
//! each of those and each read. A batch that writes nothing that way costs
//! no transaction at all, like one that changes nothing (below).
//!
//! A batch in which no event can change the projection's tables
//! ([`Rules::changes`]) costs no transaction: it is acknowledged and the
//! stored checkpoint catches up with the next batch that commits. A
//! restart then replays those events, which change nothing again; at most
//! [`MAX_UNSAVED`] of them, after which the checkpoint is written anyway.

use std::future::Future;

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected};
use omnibus_proto::Event;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection as _, Transaction};

use crate::checkpoint::{begin_at_checkpoint, in_one_round_trip};
use crate::{Backend, Shot, Store, execute_in_order, is_refusal};

/// Most events a projection acknowledges beyond its stored checkpoint by
/// skipping batches that change nothing (what a restart replays for
/// nothing). Live traffic of a kind a projection ignores (delivery receipts
/// in the timers, say) thus costs one checkpoint write per this many.
pub const MAX_UNSAVED: u64 = 5_000;

/// Most [`Shot`]s joined into one SQLite script: live traffic comes a few
/// events a batch; a rebuild's full batches are applied the usual way, in
/// runs.
pub const MAX_JOINED_SHOTS: usize = 8;

/// What [`Rules::apply_in_memory`] gives: the batch's writes as shots and
/// its output, or `None` to apply the batch the usual way.
pub type AppliedInMemory<O> = Option<(Vec<Shot>, O)>;

/// Most events of a batch the runner offers to [`Rules::apply_in_memory`]:
/// live traffic's batches, whose round trips are most of their cost. A
/// larger batch (a catch-up, a rebuild) goes the usual way, where a few
/// round trips more do not count and its statements, built with
/// anonymous placeholders, bind faster on SQLite than shots do (see
/// [`Placeholders`](crate::Placeholders)).
pub const MAX_IN_MEMORY: usize = 32;

/// One decoded event of a run, with where it came from.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    /// Its stream sequence.
    pub sequence: u64,
    /// The subject it was published on.
    pub subject: &'a str,
    /// The event itself.
    pub event: &'a Event,
    /// The delivery, for its trace context.
    pub delivery: &'a Delivery,
}

impl<'a> Step<'a> {
    /// The step of `delivery`, when its event decoded.
    pub fn of(delivery: &'a Delivery) -> Option<Self> {
        let event = delivery.event.as_ref().ok()?;
        Some(Self {
            sequence: delivery.sequence,
            subject: &delivery.subject,
            event,
            delivery,
        })
    }
}

/// The rules of one projection: what events do to its tables.
pub trait Rules: Send + 'static {
    /// What a committed run hands on (e.g. notifications to publish).
    type Output: Send;

    /// Names the durable consumer and the checkpoint.
    fn name(&self) -> &'static str;

    /// Whether `step` may change the projection's tables or hand anything
    /// on; true unless the projection knows better. A batch of events that
    /// cannot is acknowledged without a transaction (see the module's
    /// documentation), so a wrong `false` loses the event's effect: answer
    /// from the payload's kind and the subject, never from stored state.
    fn changes(&self, step: &Step<'_>) -> bool {
        let _ = step;
        true
    }

    /// How many decoded events at the start of `rest` (never empty) are
    /// applied together; 1 unless the projection batches a kind of event.
    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        let _ = rest;
        1
    }

    /// Applies `run` (one event or a run [`Rules::run_len`] chose) inside a
    /// savepoint. A refusal rolls it back: a run is then retried one event
    /// at a time, a single event is rejected.
    fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> impl Future<Output = Result<Self::Output, sqlx::Error>> + Send;

    /// `step` as one [`Shot`] with what it hands on, when the projection
    /// can write it so; `None` (the default) applies it with
    /// [`Rules::apply`]. A batch goes as shots only when each of its events
    /// does. The shot must change exactly what `apply` would, and decide
    /// nothing from stored state or from what an earlier event of the batch
    /// changes: the shots of a batch are all built before its transaction
    /// begins. When the database refuses them, nothing of them is kept and
    /// the batch goes to `apply`, which rejects what it refuses.
    fn shot(&self, step: &Step<'_>, backend: Backend) -> Option<(Shot, Self::Output)> {
        let _ = (step, backend);
        None
    }

    /// Applies `batch` (a whole batch of at most [`MAX_IN_MEMORY`] events,
    /// every event decoded) in memory and returns what it would write as
    /// shots (none when it writes nothing), or `None` (the default) to
    /// apply it the usual way. Only for a
    /// projection that is the one writer of its tables and keeps what it
    /// wrote: `conn` is outside any transaction, and what is read there is
    /// what the tables hold only because nobody else writes them. The
    /// shots run in order, after the checkpoint, in one transaction. When
    /// they fail, nothing of them is kept, [`Rules::discarded`] is called
    /// and the batch goes the usual way, so drop in `discarded` what this
    /// changed in memory.
    fn apply_in_memory(
        &mut self,
        conn: &mut AnyConnection,
        batch: &[Step<'_>],
    ) -> impl Future<Output = Result<AppliedInMemory<Self::Output>, sqlx::Error>> + Send {
        let _ = (conn, batch);
        async { Ok(None) }
    }

    /// After the batch committed, with the outputs of its committed runs.
    fn committed(&mut self, batch: &[Delivery], outputs: Vec<Self::Output>) {
        let _ = (batch, outputs);
    }

    /// After something was rolled back: drop what was cached from it.
    fn discarded(&mut self) {}

    /// Told where the store stands each time the reader (re)starts.
    fn resumed(&mut self, applied: u64) {
        let _ = applied;
    }
}

/// A [`Projection`] made of a store and a projection's [`Rules`].
///
/// The runner keeps one pooled connection for its transactions while they
/// succeed: taking one from the pool and giving it back for every batch
/// cost a round trip more each (sqlx tests a connection it takes back).
/// After any failure the connection is closed and the next batch takes a
/// fresh one, so a connection the database dropped is not kept. Drop the
/// runner before [`Store::close`], which waits for every connection.
pub struct Runner<R> {
    store: Store,
    rules: R,
    /// Events acknowledged since the stored checkpoint without a transaction.
    unsaved: u64,
    /// The connection the batches are written on, while it works.
    writer: Option<PoolConnection<Any>>,
    /// Shots that failed and went the usual way.
    shot_fallbacks: u64,
}

impl<R: Rules> Runner<R> {
    /// Runs `rules` against `store`.
    pub fn new(store: Store, rules: R) -> Self {
        Self {
            store,
            rules,
            unsaved: 0,
            writer: None,
            shot_fallbacks: 0,
        }
    }

    /// True when no event of `batch` can change anything (every one
    /// decodes, and [`Rules::changes`] says no to each).
    fn changes_nothing(&self, batch: &[Delivery]) -> bool {
        batch
            .iter()
            .all(|d| Step::of(d).is_some_and(|step| !self.rules.changes(&step)))
    }

    /// The projection's rules (for tests and inspection).
    pub fn rules(&self) -> &R {
        &self.rules
    }

    /// How many [`Shot`]s failed and went the usual way: refusals, and
    /// shots the database could not run at all (for tests and inspection;
    /// a shot that never works costs a round trip more per event).
    pub fn shot_fallbacks(&self) -> u64 {
        self.shot_fallbacks
    }

    /// Applies `batch` and commits it with its checkpoint. A batch that is
    /// one run is first tried without a savepoint (two statements fewer,
    /// which is most of live traffic's cost); only when that is refused is
    /// it applied again run by run.
    async fn apply_batch(
        &mut self,
        batch: &[Delivery],
        rejected: &mut Vec<Rejected>,
        outputs: &mut Vec<R::Output>,
    ) -> Result<(), ProjectionError> {
        if self.apply_as_shots(batch, outputs).await {
            return Ok(());
        }
        if let Some(output) = self.apply_as_one_run(batch).await? {
            outputs.push(output);
            return Ok(());
        }
        self.apply_run_by_run(batch, rejected, outputs).await
    }

    /// True when every event of `batch` is a [`Shot`] and they committed
    /// together (on SQLite up to [`MAX_JOINED_SHOTS`] joined in one script;
    /// on PostgreSQL a batch of one). After any failure nothing of it is
    /// kept: the writer is closed (a SQLite script may have stopped inside
    /// its transaction) and the batch goes the usual way, which tells a
    /// refusal (rejected) from a failure (retried).
    async fn apply_as_shots(&mut self, batch: &[Delivery], outputs: &mut Vec<R::Output>) -> bool {
        let backend = self.store.backend();
        let most = match backend {
            Backend::Sqlite => MAX_JOINED_SHOTS,
            Backend::Postgres => 1,
        };
        let Some(last) = batch.last().filter(|_| batch.len() <= most) else {
            return false;
        };
        let Ok(sequence) = i64::try_from(last.sequence) else {
            return false;
        };
        let mut shots = Vec::with_capacity(batch.len());
        let mut outs = Vec::with_capacity(batch.len());
        for delivery in batch {
            let Some((shot, output)) =
                Step::of(delivery).and_then(|s| self.rules.shot(&s, backend))
            else {
                return false;
            };
            shots.push(shot);
            outs.push(output);
        }
        let shot = Shot::join(shots);
        let name = self.rules.name();
        let wrapped = in_one_round_trip(backend, name, &shot.sql, shot.params.len() + 1);
        // Joined scripts of more than two differ from batch to batch.
        let query = shot
            .query(wrapped)
            .bind(sequence)
            .persistent(batch.len() <= 2);
        let result = match writer(&self.store, &mut self.writer).await {
            Ok(conn) => query.execute(&mut **conn).await.map(drop),
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            self.fall_back("a shot", &err);
            return false;
        }
        outputs.extend(outs);
        true
    }

    /// After `what` failed to write, before its batch goes the usual way:
    /// counts it, says so, and closes the writer (a SQLite script may have
    /// stopped inside its transaction).
    fn fall_back(&mut self, what: &str, err: &sqlx::Error) {
        self.shot_fallbacks += 1;
        let name = self.rules.name();
        // A refusal is the usual way's to reject; anything else costs every
        // batch a round trip more if it lasts, so it is seen.
        if is_refusal(err) {
            tracing::debug!(projection = name, error = %err, "{what} was refused; applying its batch the usual way");
        } else {
            tracing::warn!(projection = name, error = %err, "{what} failed to write; applying its batch the usual way");
        }
        if let Some(mut writer) = self.writer.take() {
            writer.close_on_drop();
        }
    }

    /// Applies `batch` in memory when the rules can ([`Rules::apply_in_memory`])
    /// and writes what that gave in one round trip, or not at all when it
    /// gave nothing to write and the checkpoint may wait. `None` when the
    /// batch is to go the usual way (nothing of it was kept then).
    async fn apply_in_memory(
        &mut self,
        batch: &[Delivery],
        unsaved: u64,
    ) -> Result<Option<InMemory<R::Output>>, ProjectionError> {
        let Some(last) = batch.last().filter(|_| batch.len() <= MAX_IN_MEMORY) else {
            return Ok(None);
        };
        let run: Vec<Step<'_>> = batch.iter().map_while(Step::of).collect();
        if run.len() < batch.len() {
            return Ok(None);
        }
        let conn = writer(&self.store, &mut self.writer)
            .await
            .map_err(transient)?;
        let Some((shots, output)) = self
            .rules
            .apply_in_memory(conn, &run)
            .await
            .map_err(transient)?
        else {
            return Ok(None);
        };
        if shots.is_empty() && unsaved < MAX_UNSAVED {
            return Ok(Some(InMemory::Unwritten(output)));
        }
        match self.write_shots(shots, last.sequence).await {
            Ok(()) => Ok(Some(InMemory::Written(output))),
            Err(err) => {
                self.fall_back("a batch applied in memory", &err);
                self.rules.discarded();
                Ok(None)
            }
        }
    }

    /// Runs `shots` in order with the checkpoint at `last` in one
    /// transaction: one round trip on SQLite (one script) and, for a single
    /// shot, on PostgreSQL (one statement); otherwise one per shot.
    async fn write_shots(&mut self, shots: Vec<Shot>, last: u64) -> Result<(), sqlx::Error> {
        let backend = self.store.backend();
        let name = self.rules.name();
        if backend == Backend::Postgres && shots.len() > 1 {
            let mut tx = begin(&self.store, &mut self.writer, name, last).await?;
            execute_in_order(&mut tx, shots).await?;
            return tx.commit().await;
        }
        let sequence = i64::try_from(last)
            .map_err(|_| sqlx::Error::Protocol("sequence out of range".into()))?;
        let joined = if shots.is_empty() {
            // Nothing but the checkpoint: a statement for it to ride on.
            Shot::new("SELECT 1", Vec::new())
        } else {
            Shot::join(shots)
        };
        let wrapped = in_one_round_trip(backend, name, &joined.sql, joined.params.len() + 1);
        let query = joined.query(wrapped).bind(sequence);
        let conn = writer(&self.store, &mut self.writer).await?;
        query.execute(&mut **conn).await.map(drop)
    }

    /// `Some` when `batch` is one run and it committed; `None` when it is
    /// not one run, or the database refused it (nothing was kept then).
    async fn apply_as_one_run(
        &mut self,
        batch: &[Delivery],
    ) -> Result<Option<R::Output>, ProjectionError> {
        let Some(last) = batch.last() else {
            return Ok(None);
        };
        let run: Vec<Step<'_>> = batch.iter().map_while(Step::of).collect();
        if run.len() < batch.len() || self.rules.run_len(&run) < run.len() {
            return Ok(None);
        }
        let name = self.rules.name();
        let mut tx = begin(&self.store, &mut self.writer, name, last.sequence)
            .await
            .map_err(transient)?;
        match self.rules.apply(&mut tx, &run).await {
            Ok(output) => {
                tx.commit().await.map_err(transient)?;
                Ok(Some(output))
            }
            Err(err) if !is_refusal(&err) => Err(transient(err)),
            Err(_) => {
                tx.rollback().await.map_err(transient)?;
                self.rules.discarded();
                Ok(None)
            }
        }
    }

    /// Applies `batch` run by run, each in a savepoint, rejecting what the
    /// database refuses one event at a time.
    async fn apply_run_by_run(
        &mut self,
        batch: &[Delivery],
        rejected: &mut Vec<Rejected>,
        outputs: &mut Vec<R::Output>,
    ) -> Result<(), ProjectionError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let name = self.rules.name();
        let mut tx = begin(&self.store, &mut self.writer, name, last.sequence)
            .await
            .map_err(transient)?;
        let mut next = 0;
        while let Some(first) = batch.get(next) {
            let decoded: Vec<Step<'_>> = batch[next..].iter().map_while(Step::of).collect();
            if decoded.is_empty() {
                if let Err(err) = &first.event {
                    rejected.push(reject(first, format!("undecodable event: {err}")));
                }
                next += 1;
                continue;
            }
            let mut at = 0;
            while at < decoded.len() {
                let len = self
                    .rules
                    .run_len(&decoded[at..])
                    .clamp(1, decoded.len() - at);
                apply_run(
                    &mut self.rules,
                    &mut tx,
                    &decoded[at..at + len],
                    rejected,
                    outputs,
                )
                .await?;
                at += len;
            }
            next += decoded.len();
        }
        tx.commit().await.map_err(transient)?;
        Ok(())
    }
}

impl<R: Rules> Projection for Runner<R> {
    fn name(&self) -> &str {
        self.rules.name()
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        let applied = self
            .store
            .checkpoint(self.rules.name())
            .await
            .map_err(transient)?;
        self.unsaved = 0;
        self.rules.resumed(applied);
        Ok(applied)
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        let unsaved = self.unsaved + batch.len() as u64;
        if unsaved < MAX_UNSAVED && self.changes_nothing(batch) {
            self.unsaved = unsaved;
            self.rules.committed(batch, Vec::new());
            return Ok(Vec::new());
        }
        let mut rejected = Vec::new();
        let mut outputs = Vec::new();
        let applied = match self.apply_in_memory(batch, unsaved).await {
            Ok(Some(InMemory::Unwritten(output))) => {
                self.unsaved = unsaved;
                self.rules.committed(batch, vec![output]);
                return Ok(Vec::new());
            }
            Ok(Some(InMemory::Written(output))) => {
                outputs.push(output);
                Ok(())
            }
            Ok(None) => self.apply_batch(batch, &mut rejected, &mut outputs).await,
            Err(err) => Err(err),
        };
        match applied {
            Ok(()) => {
                self.unsaved = 0;
                self.rules.committed(batch, outputs);
                Ok(rejected)
            }
            Err(err) => {
                self.rules.discarded();
                if let Some(mut writer) = self.writer.take() {
                    writer.close_on_drop();
                }
                Err(err)
            }
        }
    }
}

/// What applying a batch in memory came to.
enum InMemory<O> {
    /// Its writes and checkpoint committed.
    Written(O),
    /// It wrote nothing, and the checkpoint waits for a later batch.
    Unwritten(O),
}

/// Applies `run` together, or one event at a time when that is refused.
async fn apply_run<R: Rules>(
    rules: &mut R,
    tx: &mut AnyConnection,
    run: &[Step<'_>],
    rejected: &mut Vec<Rejected>,
    outputs: &mut Vec<R::Output>,
) -> Result<(), ProjectionError> {
    if run.len() > 1 && savepoint(rules, tx, run, outputs).await?.is_ok() {
        return Ok(());
    }
    for one in run {
        if let Err(err) = savepoint(rules, tx, std::slice::from_ref(one), outputs).await? {
            rejected.push(reject(one.delivery, err.to_string()));
        }
    }
    Ok(())
}

/// Applies `run` in a savepoint: `Ok(Err)` when the database refused it
/// (rolled back), `Err` for a transient failure (the batch is retried).
async fn savepoint<R: Rules>(
    rules: &mut R,
    tx: &mut AnyConnection,
    run: &[Step<'_>],
    outputs: &mut Vec<R::Output>,
) -> Result<Result<(), sqlx::Error>, ProjectionError> {
    let mut savepoint = tx.begin().await.map_err(transient)?;
    match rules.apply(&mut savepoint, run).await {
        Ok(output) => {
            savepoint.commit().await.map_err(transient)?;
            outputs.push(output);
            Ok(Ok(()))
        }
        Err(err) if !is_refusal(&err) => Err(transient(err)),
        Err(err) => {
            savepoint.rollback().await.map_err(transient)?;
            rules.discarded();
            Ok(Err(err))
        }
    }
}

/// Begins a batch's transaction on `writer` (taken from the pool when there
/// is none) with `projection`'s checkpoint at `last` already written in it.
async fn begin<'c>(
    store: &Store,
    writer: &'c mut Option<PoolConnection<Any>>,
    projection: &str,
    last: u64,
) -> Result<Transaction<'c, Any>, sqlx::Error> {
    let script = begin_at_checkpoint(store.backend(), projection, last)
        .map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
    let conn = self::writer(store, writer).await?;
    conn.begin_with(sqlx::AssertSqlSafe(script)).await
}

/// The runner's writer connection, taken from the pool when there is none.
async fn writer<'c>(
    store: &Store,
    writer: &'c mut Option<PoolConnection<Any>>,
) -> Result<&'c mut PoolConnection<Any>, sqlx::Error> {
    if writer.is_none() {
        *writer = Some(store.pool().acquire().await?);
    }
    let Some(conn) = writer.as_mut() else {
        unreachable!("a writer was just put in place");
    };
    Ok(conn)
}

fn transient(err: impl std::fmt::Display) -> ProjectionError {
    ProjectionError(err.to_string())
}

fn reject(delivery: &Delivery, error: String) -> Rejected {
    Rejected {
        sequence: delivery.sequence,
        error,
    }
}
