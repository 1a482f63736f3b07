//! Telegram ingress: verifies and normalizes Bot API webhooks, delivers outbound messages through the Bot API
