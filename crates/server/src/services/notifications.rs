//! `omnibus serve notifications`.

use omnibus_egress::Egress;
use omnibus_notifications::{Config, DeliveryConfig, Notifications};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        delivery: DeliveryConfig {
            egress: Egress::new(ctx.config.outbound_allow.clone()),
            ..DeliveryConfig::default()
        },
        ..Config::default()
    };
    let notifications = Notifications::start(
        config,
        ctx.bus.clone(),
        ctx.store_for("notifications").await?,
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
