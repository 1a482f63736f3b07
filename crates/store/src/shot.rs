//! [`Shot`]: a live event written in one round trip.
//!
//! Live batches are one event or a few, and a transaction around one
//! statement costs three round trips: the `BEGIN` with the checkpoint, the
//! statement, the `COMMIT`. Each is a hand-off to SQLite's worker thread
//! and back, or a message to PostgreSQL's backend and back, and on two
//! busy cores that wait, not the SQL, is most of an event's time. A
//! projection that can write an event as one statement (or, on SQLite, a
//! script) hands it to the runner as a shot, which sends it together with
//! the begin, the checkpoint and the commit.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe};

use crate::Backend;

/// Most shots [`execute_in_order`] joins into one SQLite script (a few
/// hundred bytes and a dozen parameters each).
pub const MAX_SHOTS_PER_TRIP: usize = 32;

/// Runs `shots` one after another inside the caller's transaction. On
/// SQLite consecutive shots share round trips to its thread, joined into
/// scripts of up to [`MAX_SHOTS_PER_TRIP`] with their parameters
/// renumbered; each statement sees what the ones before it changed, as if
/// run apart. On PostgreSQL each goes alone, as its prepared statement:
/// several statements in one round trip there means one simple query,
/// which takes no parameters (values written in as literals) and is
/// planned anew every time; tried, it measured no faster than the round
/// trips it saved (500 sends/s, order-balanced A/B).
pub async fn execute_in_order(
    conn: &mut AnyConnection,
    shots: Vec<Shot>,
) -> Result<(), sqlx::Error> {
    let per_trip = match Backend::of(conn) {
        Backend::Sqlite => MAX_SHOTS_PER_TRIP,
        Backend::Postgres => 1,
    };
    let mut shots = shots.into_iter().peekable();
    while shots.peek().is_some() {
        let trip: Vec<Shot> = shots.by_ref().take(per_trip).collect();
        let joined = trip.len();
        // Scripts differ from trip to trip: not worth preparing.
        let query = Shot::join(trip).into_query().persistent(joined == 1);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The statements that apply one event, with their parameters.
///
/// On SQLite `sql` may be a script of several statements; on PostgreSQL it
/// must be one statement, which may begin with its own `WITH` clause. It
/// refers to its parameters as `$1…$n` (numbered, and no `$` anywhere
/// else: shots are joined by renumbering them); the runner binds the
/// checkpoint after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    /// The statement or script. Keep it the same text for the same kind of
    /// event, so it stays prepared.
    pub sql: String,
    /// Its parameters, `$1` first.
    pub params: Vec<Param>,
}

/// One parameter of a [`Shot`].
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A `BIGINT` / `INTEGER`.
    Int(i64),
    /// A `TEXT`.
    Text(String),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::Text(value)
    }
}

impl Shot {
    /// `sql` with `params`, `$1` first.
    pub fn new(sql: impl Into<String>, params: Vec<Param>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }

    /// `shots` as one script that runs them in order (SQLite only: a
    /// PostgreSQL shot is one statement, whose clauses all see the tables
    /// as they were, so two events of one row cannot be joined there).
    pub(crate) fn join(shots: Vec<Shot>) -> Shot {
        let mut joined = Shot::new(String::new(), Vec::new());
        for shot in shots {
            if !joined.sql.is_empty() {
                joined.sql.push_str("; ");
            }
            joined
                .sql
                .push_str(&renumber(&shot.sql, joined.params.len()));
            joined.params.extend(shot.params);
        }
        joined
    }

    /// This shot alone, to run inside a transaction of the caller's (the
    /// same statements [`Rules::apply`](crate::Rules::apply) would run).
    pub fn into_query(self) -> Query<'static, Any, AnyArguments> {
        bind(sqlx::query(AssertSqlSafe(self.sql)), self.params)
    }

    /// `wrapped` (this shot's statements inside the runner's transaction)
    /// with this shot's parameters bound, the checkpoint's to be bound next.
    pub(crate) fn query(self, wrapped: String) -> Query<'static, Any, AnyArguments> {
        bind(sqlx::query(AssertSqlSafe(wrapped)), self.params)
    }
}

fn bind(
    mut query: Query<'static, Any, AnyArguments>,
    params: Vec<Param>,
) -> Query<'static, Any, AnyArguments> {
    for param in params {
        query = match param {
            Param::Int(value) => query.bind(value),
            Param::Text(value) => query.bind(value),
        };
    }
    query
}

/// `sql` with every parameter `$n` made `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_shots_number_their_parameters_in_turn() {
        let first = Shot::new(
            "INSERT INTO t VALUES ($1, $2); UPDATE u SET a = $2",
            vec![1.into(), "x".into()],
        );
        let second = Shot::new("UPDATE t SET b = $1 WHERE id = $10", vec![2.into()]);
        let third = Shot::new("DELETE FROM t", vec![]);
        let joined = Shot::join(vec![first, second, third]);
        assert_eq!(
            joined.sql,
            "INSERT INTO t VALUES ($1, $2); UPDATE u SET a = $2; \
             UPDATE t SET b = $3 WHERE id = $12; DELETE FROM t"
        );
        assert_eq!(joined.params, [1.into(), "x".into(), 2.into()]);
    }
}
