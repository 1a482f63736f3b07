//! Generated protobuf types for package `omnibus.v1`: the event envelope
//! stored on JetStream and the gRPC services of the public API.
//!
//! # Layout
//! - `omnibus/v1/common.proto`: enums and value types shared by events and API
//! - `omnibus/v1/events.proto`: `Event`, the one envelope on the stream
//! - `omnibus/v1/channels.proto`, `conversations.proto`: gRPC services

/// Everything in package `omnibus.v1`.
pub mod v1 {
    #![allow(clippy::all, rust_2018_idioms, missing_docs)]
    tonic::include_proto!("omnibus.v1");
}

/// Encoded `FileDescriptorSet` of every Omnibus proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("omnibus_descriptor");

pub use v1::*;
