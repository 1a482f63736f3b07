//! End-to-end tests: the whole of Omnibus in-process against a real
//! nats-server, real SQLite/PostgreSQL and a Telegram Bot API stand-in.

mod support;

mod api;
mod bus;
mod console;
mod contacts;
mod contention;
mod crash;
mod ctl;
mod delivery;
mod egress;
mod instagram;
mod lifecycle;
mod logs;
mod media;
mod metrics;
mod nats_security;
mod notifications;
mod outbound;
mod precedence;
mod rebuild;
mod replicas;
mod routing;
mod sealed;
mod security;
mod telegram_updates;
mod timers;
mod tracing;
mod viber;
mod vk;
mod wazzup;
mod webhook;
mod whatsapp;
mod window;
