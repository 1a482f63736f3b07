//! The JetStream event bus: stream setup, publishing with dedupe ids, durable consumers with checkpoints and dead letters
