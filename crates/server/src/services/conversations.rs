//! `omnibus serve conversations`.

use omnibus_conversations::{Config, Conversations};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        default_region: ctx.config.default_region,
        ..Config::default()
    };
    let conversations =
        Conversations::start(config, ctx.bus.clone(), ctx.store(), ctx.shutdown.clone())
            .await
            .map_err(|source| ServerError::Service {
                service: "conversations",
                source,
            })?;
    conversations.register(&mut parts.grpc);
    parts.on_stop(conversations.stopped());
    Ok(())
}
