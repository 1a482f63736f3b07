//! `omnibus serve ingress-telegram`.

use omnibus_ingress_telegram::{Config, IngressTelegram};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        api_base: ctx.config.telegram_api_base.clone(),
        public_url: ctx.config.public_url.clone(),
        ..Config::default()
    };
    let telegram = IngressTelegram::start(config, ctx.bus.clone(), ctx.shutdown.clone());
    parts.http = std::mem::take(&mut parts.http).merge(telegram.router());
    parts.on_stop(telegram.stopped());
    Ok(())
}
