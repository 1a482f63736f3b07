//! `omnibus serve ingress-<messenger>`: any messenger on the kit.

use omnibus_egress::Egress;
use omnibus_ingress::{Ingress, KitConfig, Messenger};

use super::{Context, Parts};

/// Starts `messenger`'s ingress with the provider API at `api_base` and
/// mounts its webhook routes.
pub(crate) fn start<M: Messenger>(messenger: M, api_base: &str, ctx: &Context, parts: &mut Parts) {
    let config = kit_config(api_base, ctx);
    let ingress = Ingress::start(messenger, config, ctx.bus.clone(), ctx.shutdown.clone());
    parts.http = std::mem::take(&mut parts.http).merge(ingress.router());
    parts.on_stop(ingress.stopped());
}

/// Serves `ListProviderChannels` for Wazzup (its account's channel list).
pub(crate) fn wazzup_channels(api_base: &str, ctx: &Context) {
    let responder = omnibus_ingress_wazzup::provider_channels::serve(
        ctx.bus.clone(),
        api_base.to_owned(),
        kit_config(api_base, ctx),
        ctx.shutdown.clone(),
    );
    tokio::spawn(async move {
        if let Err(error) = responder.await {
            tracing::warn!(%error, "the wazzup channel-list responder stopped");
        }
    });
}

/// The kit's settings from the server's: the provider API base, the public
/// URL and the egress policy every provider call goes through.
fn kit_config(api_base: &str, ctx: &Context) -> KitConfig {
    KitConfig {
        api_base: api_base.to_owned(),
        public_url: ctx.config.public_url.clone(),
        egress: Egress::new(ctx.config.outbound_allow.clone()),
        media: ctx.config.media.retention,
        ..KitConfig::default()
    }
}
