//! Hardening (issue 11): the listener protects itself, credentials never
//! leave for an address a caller picks, provider ids never break a publish,
//! events fit the stream, and secrets stay out of the logs.

mod channels;
mod ids;
mod listener;
mod logs;
mod payload;
