//! [`Kept`]: what a projection's committed runs left of its rows, for the
//! next runs.
//!
//! Live traffic comes an event or two a batch, mostly to rows written a
//! moment before, and reading them again is a hand-off to the database
//! and back for every batch. A projection that is the one writer of its
//! tables knows what they hold: what its committed runs wrote. A run takes
//! the rows it reads out of [`Kept`] ([`Kept::take`]), so a later run of
//! the same transaction reads them from the tables, with the earlier run's
//! writes; they come back ([`Kept::keep`]) only once their transaction
//! committed, and everything is forgotten after a rollback, a restart
//! (another replica may have written meanwhile) or SQL that changed rows
//! behind the projection's back.

use std::collections::HashMap;

/// Most rows kept (a few hundred bytes each); past it they are dropped and
/// read again when next touched.
pub const MOST_KEPT: usize = 2_000;

/// Rows by id, as committed runs left them.
#[derive(Debug)]
pub struct Kept<V> {
    rows: HashMap<String, V>,
}

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
        }
    }
}

impl<V> Kept<V> {
    /// Takes `id`'s row out, for a run that is about to change it.
    pub fn take(&mut self, id: &str) -> Option<V> {
        self.rows.remove(id)
    }

    /// Keeps what a committed run left (in the order written), starting
    /// over when that would pass [`MOST_KEPT`]; of a run that alone passes
    /// it (a catch-up, not live traffic), only the first [`MOST_KEPT`].
    pub fn keep(&mut self, ended: Vec<(String, V)>) {
        if self.rows.len() + ended.len() > MOST_KEPT {
            self.rows.clear();
        }
        self.rows.extend(ended.into_iter().take(MOST_KEPT));
    }

    /// Drops everything kept.
    pub fn forget(&mut self) {
        self.rows.clear();
    }

    /// The kept rows by id (for tests comparing them with the tables).
    pub fn rows(&self) -> &HashMap<String, V> {
        &self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_row_is_gone_until_kept_again_and_too_many_start_over() {
        let mut kept = Kept::default();
        kept.keep(vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);
        assert_eq!(kept.take("a"), Some(1));
        assert_eq!(kept.take("a"), None, "taken");
        kept.keep(vec![("a".to_owned(), 3)]);
        assert_eq!(kept.rows().get("a"), Some(&3));

        let many: Vec<(String, i32)> = (0..MOST_KEPT as i32 - 2)
            .map(|i| (format!("row-{i}"), i))
            .collect();
        kept.keep(many);
        assert_eq!(kept.rows().len(), MOST_KEPT, "up to the most");
        kept.keep(vec![("one more".to_owned(), 0)]);
        assert_eq!(kept.rows().len(), 1, "started over");

        let too_many: Vec<(String, i32)> = (0..MOST_KEPT as i32 + 1)
            .map(|i| (format!("row-{i}"), i))
            .collect();
        kept.keep(too_many);
        assert_eq!(kept.rows().len(), MOST_KEPT, "never more than the most");

        kept.forget();
        assert!(kept.rows().is_empty());
    }
}
