//! `omnibus serve notifications`.

use omnibus_notifications::{Config, Notifications};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let notifications = Notifications::start(
        Config::default(),
        ctx.bus.clone(),
        ctx.store(),
        ctx.shutdown.clone(),
    )
    .await
    .map_err(|source| ServerError::Service {
        service: "notifications",
        source,
    })?;
    notifications.register(&mut parts.grpc);
    parts.on_stop(notifications.stopped());
    Ok(())
}
