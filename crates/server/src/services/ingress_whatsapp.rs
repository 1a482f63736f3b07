//! `omnibus serve ingress-whatsapp`.

use omnibus_ingress_whatsapp::{Config, IngressWhatsapp};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        api_base: ctx.config.whatsapp_api_base.clone(),
        ..Config::default()
    };
    let whatsapp = IngressWhatsapp::start(config, ctx.bus.clone(), ctx.shutdown.clone());
    parts.http = std::mem::take(&mut parts.http).merge(whatsapp.router());
    parts.on_stop(whatsapp.stopped());
    Ok(())
}
