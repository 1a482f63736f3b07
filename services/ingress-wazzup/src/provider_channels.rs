//! Answers the conversations service's `ListProviderChannels` requests
//! (`provider_channels.wazzup` over NATS request/reply): Wazzup's own
//! channel list for an API key, before any Omnibus channel exists.

use omnibus_bus::{Bus, BusError};
use omnibus_ingress::{KitConfig, Provider};
use omnibus_proto::{
    ChannelSetupReply, ProviderChannelsReply, ProviderChannelsRequest,
    channel_setup_reply::Outcome as SetupOutcome, provider_channels_reply::Outcome,
};
use tokio_util::sync::CancellationToken;

use crate::messenger::{Wazzup, list_channels};

/// Serves channel-list requests until `shutdown`; `api_base` is
/// `OMNIBUS_WAZZUP_API_BASE` (a request's `api_base_url` overrides it).
pub async fn serve(
    bus: Bus,
    api_base: String,
    config: KitConfig,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    // Every provider call goes through the egress policy (OMNIBUS_OUTBOUND_ALLOW).
    let client = config
        .egress
        .client()
        .map_err(|err| BusError::Unavailable(format!("provider http client: {err}")))?;
    let handle = move |request: ProviderChannelsRequest| {
        let api_base = api_base.clone();
        let http = client.clone();
        async move {
            let account = request.account.unwrap_or_default();
            let base = if api_base.trim().is_empty() {
                crate::DEFAULT_API_BASE
            } else {
                api_base.as_str()
            };
            let provider = Provider::for_channel::<Wazzup>(http, base, &account);
            let key = account
                .credentials
                .get("api_key")
                .cloned()
                .unwrap_or_default();
            match list_channels(&provider, &key).await {
                Ok(channels) => ProviderChannelsReply {
                    outcome: Outcome::Ok as i32,
                    message: String::new(),
                    channels,
                },
                Err(ChannelSetupReply {
                    outcome, message, ..
                }) => ProviderChannelsReply {
                    outcome: if outcome == SetupOutcome::Invalid as i32 {
                        Outcome::Invalid as i32
                    } else {
                        Outcome::Unavailable as i32
                    },
                    message,
                    channels: Vec::new(),
                },
            }
        }
    };
    omnibus_ingress::rpc::serve(
        bus,
        "provider_channels.wazzup",
        "ingress-wazzup".to_owned(),
        handle,
        |why| ProviderChannelsReply {
            outcome: Outcome::Invalid as i32,
            message: why,
            channels: Vec::new(),
        },
        shutdown,
    )
    .await
}
