//! Shared plumbing of the public edges: gRPC auth, reflection and health, HTTP health endpoints, paging tokens
