//! Placeholders for statements built at run time (multi-row `VALUES`,
//! `IN (…)` lists), in the form each backend handles fastest.
//!
//! PostgreSQL needs numbered `$n`. SQLite accepts them too, but sqlx looks up
//! every parameter's name on binding and SQLite finds a name by walking the
//! statement's list of names, so a statement with n numbered parameters
//! costs O(n²) to bind: a quarter of a replay's time went there with 600
//! parameters a statement. Anonymous `?` parameters have no name to look up.
//! The catch: a `?` is bound by its position in the text, so values must be
//! bound in the order their placeholders appear, and a value used twice is
//! bound twice. Statements built with [`Placeholders`] follow that rule on
//! both backends.

use std::borrow::Cow;

use sqlx::AnyConnection;

/// Runs of up to this many rows (live traffic) stay prepared whatever their
/// size.
const SMALL_RUN: usize = 8;

/// Whether a statement built for `rows` rows (or ids), cut into chunks of
/// `chunk`, stays prepared in the connection's statement cache. Full
/// chunks and small runs recur; every other size would be one more cached
/// statement per connection (up to ~100 KiB each) that is rarely used
/// again. Pass it to `Query::persistent`.
pub fn keep_prepared(rows: usize, chunk: usize) -> bool {
    rows == chunk || rows <= SMALL_RUN
}

/// Hands out the placeholders of one statement, in the order they appear.
#[derive(Debug, Clone)]
pub struct Placeholders {
    anonymous: bool,
    count: usize,
}

impl Placeholders {
    /// Placeholders for a statement run on `conn`.
    pub fn for_connection(conn: &AnyConnection) -> Self {
        Self::anonymous(crate::Backend::of(conn) == crate::Backend::Sqlite)
    }

    /// `?` when `anonymous` (SQLite), `$1, $2, …` otherwise.
    pub fn anonymous(anonymous: bool) -> Self {
        Self {
            anonymous,
            count: 0,
        }
    }

    /// The next placeholder; its value is bound next. (Not an `Iterator`:
    /// it never ends, and callers interleave it with SQL text.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Cow<'static, str> {
        self.count += 1;
        if self.anonymous {
            Cow::Borrowed("?")
        } else {
            Cow::Owned(format!("${}", self.count))
        }
    }

    /// How many placeholders were handed out (values to bind).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends `p1, p2, …` with `n` placeholders.
    pub fn push_list(&mut self, sql: &mut String, n: usize) {
        for i in 0..n {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.next());
        }
    }

    /// Appends `(p, p, …), (p, …)`: `rows` rows of `columns` placeholders,
    /// bound row by row.
    pub fn push_rows(&mut self, sql: &mut String, rows: usize, columns: usize) {
        self.push_rows_with(sql, rows, |sql, p| p.push_list(sql, columns));
    }

    /// Appends `rows` rows, each written by `row` (which takes its
    /// placeholders from the same [`Placeholders`]), separated by commas.
    pub fn push_rows_with(
        &mut self,
        sql: &mut String,
        rows: usize,
        mut row: impl FnMut(&mut String, &mut Self),
    ) {
        for i in 0..rows {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            row(sql, self);
            sql.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders;

    #[test]
    fn numbered_rows_count_on_across_rows() {
        let mut p = Placeholders::anonymous(false);
        let mut sql = String::new();
        p.push_rows(&mut sql, 2, 3);
        assert_eq!(sql, "($1, $2, $3),($4, $5, $6)");
        assert_eq!(p.count(), 6);
    }

    #[test]
    fn anonymous_rows_are_question_marks() {
        let mut p = Placeholders::anonymous(true);
        let mut sql = String::from("IN (");
        p.push_list(&mut sql, 3);
        sql.push(')');
        assert_eq!(sql, "IN (?, ?, ?)");
        assert_eq!(p.count(), 3);
    }

    #[test]
    fn custom_rows_share_the_numbering() {
        let mut p = Placeholders::anonymous(false);
        let mut sql = String::new();
        p.push_rows_with(&mut sql, 2, |sql, p| {
            sql.push_str(&p.next());
            sql.push_str(", 0, ");
            sql.push_str(&p.next());
        });
        assert_eq!(sql, "($1, 0, $2),($3, 0, $4)");
    }
}
