//! End-to-end and integration tests of Omnibus against real nats-server, SQLite and PostgreSQL
