//! Command-line client of the Omnibus gRPC API
