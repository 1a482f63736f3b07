//! `omnibus serve conversations`.

use omnibus_conversations::media::MediaConfig;
use omnibus_conversations::{Config, Conversations};

use super::{Context, Parts};
use crate::ServerError;

pub(crate) async fn start(ctx: &Context, parts: &mut Parts) -> Result<(), ServerError> {
    let config = Config {
        default_region: ctx.config.default_region,
        public_url: ctx.config.public_url.clone(),
        media: MediaConfig {
            api_token: ctx.config.api_token.clone(),
            max_bytes: ctx.config.media.max_bytes,
            retention: ctx.config.media.retention,
            ..MediaConfig::default()
        },
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
    parts.http = std::mem::take(&mut parts.http).merge(conversations.router());
    parts.on_stop(conversations.stopped());
    Ok(())
}
