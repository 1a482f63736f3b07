//! The operator console at `/console/` (`OMNIBUS_CONSOLE`): a gRPC client
//! of this process's own API, or of `OMNIBUS_CONSOLE_GRPC_URL`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use omnibus_console::ConsoleConfig;

use super::{Context, Parts};
use crate::ServerError;

pub(crate) fn start(ctx: &Context, parts: &mut Parts, grpc: SocketAddr) -> Result<(), ServerError> {
    let grpc_url = ctx.config.console_grpc_url.clone().unwrap_or_else(|| {
        // A listener on every interface is reached on loopback.
        let ip = match grpc.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, grpc.port()))
    });
    let router = omnibus_console::router(&ConsoleConfig { grpc_url }, ctx.shutdown.clone())?;
    parts.http = std::mem::take(&mut parts.http).merge(router);
    Ok(())
}
