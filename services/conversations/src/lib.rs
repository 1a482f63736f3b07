//! The conversations service: channels, conversations, contacts and messages as a projection of the stream, with the gRPC API
