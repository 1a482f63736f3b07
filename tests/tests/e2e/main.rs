//! End-to-end tests: the whole of Omnibus in-process against a real
//! nats-server, real SQLite/PostgreSQL and a Telegram Bot API stand-in.

mod support;

mod api;
mod bus;
mod crash;
mod delivery;
mod lifecycle;
mod logs;
mod metrics;
mod notifications;
mod outbound;
mod rebuild;
mod replicas;
mod timers;
mod tracing;
mod viber;
mod vk;
mod webhook;
mod whatsapp;
mod window;
