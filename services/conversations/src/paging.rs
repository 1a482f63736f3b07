//! Page sizes and opaque page tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Larger requests are clamped to this, not refused.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The page size to use for a request's `page_size`.
pub fn page_size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

/// Encodes a cursor (the sort key of the last row of a page).
pub fn encode_token(cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(cursor)
}

/// Decodes a page token; `None` when it is not one of ours.
pub fn decode_token(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()
}

/// A cursor of the form `<number>:<id>`.
pub fn split_cursor(cursor: &str) -> Option<(i64, &str)> {
    let (number, id) = cursor.split_once(':')?;
    Some((number.parse().ok()?, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_defaulted_and_clamped() {
        assert_eq!(page_size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10), 10);
        assert_eq!(page_size(100_000), MAX_PAGE_SIZE);
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_rejected() {
        let token = encode_token("1700000000000:cv_abc");
        let cursor = decode_token(&token).unwrap();
        assert_eq!(split_cursor(&cursor), Some((1_700_000_000_000, "cv_abc")));
        assert_eq!(decode_token("!!!"), None);
        assert_eq!(split_cursor("x:y"), None);
    }
}
