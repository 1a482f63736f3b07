//! The window service's errors: why a request failed, or why the service
//! could not start.
//! The variants and their one mapping to gRPC codes are shared by every
//! service with an API: see [`omnibus_api::error`].

pub use omnibus_api::error::{Result, ServiceError as WindowError};
