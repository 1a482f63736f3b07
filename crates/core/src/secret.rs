//! Secrets are compared in constant time so response timing leaks nothing.

use subtle::ConstantTimeEq;

/// True when both secrets are equal, in time independent of where they differ.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// `url` as it may appear in logs: without user and password, query string
/// and fragment, which carry tokens (`?token=…`, `https://user:pass@…`).
pub fn url_for_logs(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return without_query.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<hidden>{}", &rest[at..]),
        None => without_query.to_owned(),
    }
}

#[cfg(test)]
mod url_tests {
    use super::url_for_logs;

    #[test]
    fn logged_urls_lose_credentials_queries_and_fragments() {
        assert_eq!(
            url_for_logs("https://hooks.example.com/in?token=s3cret#x"),
            "https://hooks.example.com/in"
        );
        assert_eq!(
            url_for_logs("postgres://app:db-pass@db:5432/omnibus?sslmode=require"),
            "postgres://<hidden>@db:5432/omnibus"
        );
        assert_eq!(
            url_for_logs("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
    }
}
