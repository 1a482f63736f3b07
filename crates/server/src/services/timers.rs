//! `omnibus serve timers`.

use omnibus_timers::{Config, Timers};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let timers = Timers::start(
        Config::default(),
        ctx.bus.clone(),
        ctx.store_for("timers").await?,
        ctx.shutdown.clone(),
    )
    .await?;
    parts.on_stop(timers.stopped());
    Ok(())
}
