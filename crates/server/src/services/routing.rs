//! `omnibus serve routing`.

use omnibus_routing::Router;

use super::{Context, Parts};

pub(crate) fn start(ctx: &Context, parts: &mut Parts) {
    let router = Router::start(ctx.bus.clone(), ctx.shutdown.clone());
    parts.on_stop(router.stopped());
}
