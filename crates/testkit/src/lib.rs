//! Test support: a real nats-server on a free port, throwaway SQLite and PostgreSQL databases, polling helpers
