//! `omnictl call Service/Method '{json}'`: any unary method of the API, by
//! name, without grpcurl. The server's descriptors come from gRPC reflection
//! (`grpc.reflection.v1`), the request is built from JSON with
//! `prost-reflect`, sent as raw bytes, and the answer printed as JSON.

use std::collections::HashSet;

use bytes::{Buf, BufMut, Bytes};
use clap::Args;
use futures::StreamExt;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use crate::client::Api;
use crate::error::UsageError;
use crate::output::Output;
use crate::reflect;

/// The most descriptor files fetched for one call, a guard against a
/// server whose dependencies never end.
const MAX_FILES: usize = 256;

/// Arguments of `omnictl call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// `Service/Method`, e.g. `omnibus.v1.ChannelService/ListChannels`; the
    /// package may be left out (`ChannelService/ListChannels`).
    pub method: String,
    /// The request as protobuf JSON; `{}` when left out.
    #[arg(default_value = "{}")]
    pub request: String,
}

/// Calls one unary method and prints its answer as JSON.
pub async fn run(api: &Api, args: CallArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let (service, method) = split_method(&args.method)?;
    let request: serde_json::Value = serde_json::from_str(&args.request)
        .map_err(|e| UsageError::new(format!("the request is not JSON: {e}")))?;
    let pool = fetch_pool(api, service).await?;
    let method = find_method(&pool, service, method)?;
    let input = reflect::dynamic_from_json(method.input(), &request)?;
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path: PathAndQuery = path
        .parse()
        .map_err(|_| UsageError::new(format!("{path:?} is not a valid method path")))?;
    let mut grpc = tonic::client::Grpc::new(api.authed_channel());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let answer = grpc
        .unary(
            tonic::Request::new(input.encode_to_vec().into()),
            path,
            BytesCodec,
        )
        .await?
        .into_inner();
    let output = DynamicMessage::decode(method.output(), answer).map_err(|e| {
        anyhow::anyhow!(
            "the answer does not decode as {}: {e}",
            method.output().full_name()
        )
    })?;
    let value = reflect::dynamic_to_json(&output);
    // Always JSON: there is no human layout for an arbitrary message.
    out.emit_json(&value)?;
    Ok(())
}

/// Splits `Service/Method` (a `.` before the method works too).
pub fn split_method(name: &str) -> Result<(&str, &str), UsageError> {
    let name = name.trim().trim_start_matches('/');
    let split = name.rsplit_once('/').or_else(|| name.rsplit_once('.'));
    match split {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => {
            Ok((service, method))
        }
        _ => Err(UsageError::new(format!(
            "expected Service/Method (e.g. omnibus.v1.ChannelService/ListChannels), got {name:?}"
        ))),
    }
}

/// Finds a unary method; a bare service name matches in any package.
pub fn find_method(
    pool: &DescriptorPool,
    service: &str,
    method: &str,
) -> Result<MethodDescriptor, UsageError> {
    let found = pool
        .services()
        .find(|s| s.full_name() == service || s.name() == service)
        .ok_or_else(|| UsageError::new(format!("the server has no service {service:?}")))?;
    let descriptor = found
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| {
            let names: Vec<String> = found.methods().map(|m| m.name().to_owned()).collect();
            UsageError::new(format!(
                "{} has no method {method:?}; it has {}",
                found.full_name(),
                names.join(", ")
            ))
        })?;
    if descriptor.is_client_streaming() || descriptor.is_server_streaming() {
        return Err(UsageError::new(format!(
            "{}/{method} is a streaming method; `call` makes unary calls only \
             (use `omnictl watch` for NotificationService/Subscribe)",
            found.full_name()
        )));
    }
    Ok(descriptor)
}

/// Asks the server's reflection service for the file defining `symbol` and
/// every file it depends on.
async fn fetch_pool(api: &Api, symbol: &str) -> anyhow::Result<DescriptorPool> {
    let mut client = ServerReflectionClient::new(api.authed_channel());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = client
        .server_reflection_info(tokio_stream_from(rx))
        .await
        .map_err(reflection_unavailable)?
        .into_inner();
    let full_symbol = if symbol.contains('.') {
        symbol.to_owned()
    } else {
        format!("omnibus.v1.{symbol}")
    };
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    let mut asked: HashSet<String> = HashSet::new();
    let mut next = vec![MessageRequest::FileContainingSymbol(full_symbol)];
    while let Some(request) = next.pop() {
        if files.len() >= MAX_FILES {
            anyhow::bail!("the server's descriptors reference more than {MAX_FILES} files");
        }
        tx.send(ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        })
        .await?;
        let answer = answers
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("the reflection stream ended early"))??;
        for file in decode_files(answer)? {
            if !asked.insert(file.name().to_owned()) {
                continue;
            }
            next.extend(
                file.dependency
                    .iter()
                    .filter(|d| !asked.contains(*d))
                    .map(|d| MessageRequest::FileByFilename(d.clone())),
            );
            files.push(file);
        }
    }
    DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: files })
        .map_err(|e| anyhow::anyhow!("the server's descriptors do not fit together: {e}"))
}

fn decode_files(answer: ServerReflectionResponse) -> anyhow::Result<Vec<FileDescriptorProto>> {
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).map_err(Into::into))
            .collect(),
        Some(MessageResponse::ErrorResponse(err)) => Err(UsageError::new(format!(
            "reflection: {} (is the service name right?)",
            err.error_message
        ))
        .into()),
        _ => Err(anyhow::anyhow!("unexpected reflection answer")),
    }
}

fn reflection_unavailable(status: Status) -> anyhow::Error {
    if status.code() == tonic::Code::Unimplemented {
        anyhow::anyhow!(
            "the server does not offer gRPC reflection (grpc.reflection.v1); \
             `call` needs it"
        )
    } else {
        status.into()
    }
}

/// Adapts a channel receiver to the request stream tonic wants.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<ServerReflectionRequest>,
) -> impl futures::Stream<Item = ServerReflectionRequest> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Passes already-encoded protobuf bytes through tonic unchanged.
#[derive(Debug, Clone, Copy, Default)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_split_on_the_last_slash_or_dot() {
        assert_eq!(
            split_method("omnibus.v1.ChannelService/ListChannels").unwrap(),
            ("omnibus.v1.ChannelService", "ListChannels")
        );
        assert_eq!(
            split_method("/ChannelService/GetChannel").unwrap(),
            ("ChannelService", "GetChannel")
        );
        assert_eq!(
            split_method("omnibus.v1.ChannelService.ListChannels").unwrap(),
            ("omnibus.v1.ChannelService", "ListChannels")
        );
        assert!(split_method("ListChannels").is_err());
    }

    #[test]
    fn streaming_methods_are_refused_by_name() {
        let pool = reflect::omnibus_pool();
        let err = find_method(pool, "NotificationService", "Subscribe").unwrap_err();
        assert!(err.to_string().contains("streaming"), "{err}");
        let err = find_method(pool, "ChannelService", "Nope").unwrap_err();
        assert!(err.to_string().contains("ListChannels"), "{err}");
        assert!(find_method(pool, "omnibus.v1.ChannelService", "ListChannels").is_ok());
    }
}
