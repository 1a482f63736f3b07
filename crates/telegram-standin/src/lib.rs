//! A local stand-in for the Telegram Bot API, speaking its wire format, for tests and offline demos
