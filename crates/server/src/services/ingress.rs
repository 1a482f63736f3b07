//! `omnibus serve ingress-<messenger>`: any messenger on the kit.

use omnibus_ingress::{Ingress, KitConfig, Messenger};

use super::{Context, Parts};

/// Starts `messenger`'s ingress with the provider API at `api_base` and
/// mounts its webhook routes.
pub(crate) fn start<M: Messenger>(messenger: M, api_base: &str, ctx: &Context, parts: &mut Parts) {
    let config = KitConfig {
        api_base: api_base.to_owned(),
        public_url: ctx.config.public_url.clone(),
        ..KitConfig::default()
    };
    let ingress = Ingress::start(messenger, config, ctx.bus.clone(), ctx.shutdown.clone());
    parts.http = std::mem::take(&mut parts.http).merge(ingress.router());
    parts.on_stop(ingress.stopped());
}
