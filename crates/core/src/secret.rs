//! Secrets are compared in constant time so response timing leaks nothing.

use subtle::ConstantTimeEq;

/// True when both secrets are equal, in time independent of where they differ.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}
