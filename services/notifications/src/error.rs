//! The notifications service's errors.
//! The variants and their one mapping to gRPC codes are shared by every
//! service with an API: see [`omnibus_api::error`].

pub use omnibus_api::error::{Result, ServiceError};
