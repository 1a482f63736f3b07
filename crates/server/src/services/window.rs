//! `omnibus serve window`.

use omnibus_window::{Config, Window};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        hold_for: ctx.config.window_hold,
        ..Config::default()
    };
    let window = Window::start(
        config,
        ctx.bus.clone(),
        ctx.store_for("window").await?,
        ctx.shutdown.clone(),
    )
    .await
    .map_err(|source| ServerError::Service {
        service: "window",
        source,
    })?;
    window.register(&mut parts.grpc);
    parts.on_stop(window.stopped());
    Ok(())
}
