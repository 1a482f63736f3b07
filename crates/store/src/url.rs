//! Which backend a database URL names, and the URL sqlx is given for it.

use std::path::PathBuf;

use crate::StoreError;

/// The SQL dialect behind a [`crate::Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A file on local disk; the single-machine default.
    Sqlite,
    /// A server; production.
    Postgres,
}

impl Backend {
    /// The dialect `conn` speaks, for statements written per backend.
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }
}

/// A parsed database URL, ready for `AnyPoolOptions::connect`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) backend: Backend,
    /// The URL handed to sqlx (for SQLite, with `mode=rwc` added).
    pub(crate) url: String,
    /// The SQLite file, whose parent directory must exist before opening.
    pub(crate) sqlite_file: Option<PathBuf>,
}

const MEMORY_HINT: &str = "in-memory SQLite gives every pooled connection its own database; \
                           use a file such as sqlite://./data/omnibus.db";

impl Target {
    /// Parses `sqlite://relative/path.db`, `sqlite:///abs/path.db`,
    /// `postgres://…` and `postgresql://…`.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                url: url.to_owned(),
                sqlite_file: None,
            });
        }
        if let Some(rest) = strip_prefix_ignore_case(url, "sqlite:") {
            return Self::sqlite(rest);
        }
        // Only the scheme: the rest may hold a password.
        let scheme = url.split_once("://").map_or("(no scheme)", |(s, _)| s);
        Err(StoreError::UnsupportedUrl(format!(
            "{scheme}://… (expected sqlite:// or postgres://)"
        )))
    }

    fn sqlite(rest: &str) -> Result<Self, StoreError> {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory = path.is_empty()
            || path == ":memory:"
            || query
                .split('&')
                .any(|p| p.eq_ignore_ascii_case("mode=memory"));
        if in_memory {
            return Err(StoreError::UnsupportedUrl(format!(
                "sqlite:{rest} ({MEMORY_HINT})"
            )));
        }
        let has_mode = query.split('&').any(|p| p.starts_with("mode="));
        let query = match (query.is_empty(), has_mode) {
            (true, _) => "mode=rwc".to_owned(),
            (false, false) => format!("{query}&mode=rwc"),
            (false, true) => query.to_owned(),
        };
        Ok(Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{path}?{query}"),
            sqlite_file: Some(PathBuf::from(path)),
        })
    }
}

/// The database URL of `component` when `url` is the one a user gave.
///
/// PostgreSQL serves many writers: every component shares the database.
/// A SQLite file has one writer at a time, so each component other than
/// the first gets a file of its own beside the given one:
/// `sqlite://./data/omnibus.db` → `sqlite://./data/omnibus.timers.db`, with
/// the same query. Projections rebuild from the stream, so a component's
/// file can be moved or dropped on its own.
pub fn component_url(url: &str, component: &str) -> String {
    let Some(rest) = strip_prefix_ignore_case(url, "sqlite:") else {
        return url.to_owned();
    };
    let scheme = &url[..url.len() - rest.len()];
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (rest, String::new()),
    };
    let name_at = path.rfind('/').map_or(0, |i| i + 1);
    let (dir, name) = path.split_at(name_at);
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    format!("{scheme}{dir}{stem}.{component}{extension}{query}")
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(url: &str) -> Target {
        Target::parse(url).expect("valid sqlite url")
    }

    #[test]
    fn relative_sqlite_path() {
        let t = sqlite("sqlite://./data/omnibus.db");
        assert_eq!(t.backend, Backend::Sqlite);
        assert_eq!(t.url, "sqlite://./data/omnibus.db?mode=rwc");
        assert_eq!(t.sqlite_file, Some(PathBuf::from("./data/omnibus.db")));
    }

    #[test]
    fn absolute_sqlite_path_keeps_its_query() {
        let t = sqlite("sqlite:///var/lib/omnibus/db.sqlite?cache=shared");
        assert_eq!(
            t.url,
            "sqlite:///var/lib/omnibus/db.sqlite?cache=shared&mode=rwc"
        );
        assert_eq!(
            t.sqlite_file,
            Some(PathBuf::from("/var/lib/omnibus/db.sqlite"))
        );
        let ro = sqlite("sqlite:///x.db?mode=ro");
        assert_eq!(ro.url, "sqlite:///x.db?mode=ro");
    }

    #[test]
    fn components_get_sqlite_files_beside_the_given_one() {
        let cases = [
            (
                "sqlite://./data/omnibus.db",
                "sqlite://./data/omnibus.timers.db",
            ),
            (
                "sqlite:///var/lib/db.sqlite?cache=shared",
                "sqlite:///var/lib/db.timers.sqlite?cache=shared",
            ),
            ("sqlite:omnibus", "sqlite:omnibus.timers"),
            ("SQLITE://./.hidden", "SQLITE://./.hidden.timers"),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ];
        for (given, expected) in cases {
            assert_eq!(component_url(given, "timers"), expected, "{given}");
        }
    }

    #[test]
    fn postgres_urls_pass_through() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5433/db?sslmode=require",
        ] {
            let t = Target::parse(url).expect("valid postgres url");
            assert_eq!(t.backend, Backend::Postgres);
            assert_eq!(t.url, url);
        }
    }

    #[test]
    fn memory_and_foreign_urls_are_rejected() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://",
        ] {
            let err = Target::parse(url).expect_err(url);
            assert!(err.to_string().contains("in-memory"), "{err}");
        }
        let err = Target::parse("mysql://root:secret@h/db").expect_err("mysql");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(matches!(err, StoreError::UnsupportedUrl(_)));
    }
}
