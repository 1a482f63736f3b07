//! Protobuf JSON through `prost-reflect`: the Omnibus descriptors (built in)
//! turn any API message into JSON and back, so new API types and settings
//! files need no hand-written mapping. Field names are the `.proto` names
//! (`inactivity_close_seconds`); on input the lowerCamel names work too.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};
use serde_json::Value;

use crate::error::UsageError;

/// The descriptors of every Omnibus proto, decoded once.
pub fn omnibus_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(omnibus_proto::FILE_DESCRIPTOR_SET)
            .expect("the built-in descriptor set decodes")
    })
}

/// How omnictl prints messages: proto field names, enums by name, and
/// default values included so a reader sees every field.
pub fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
}

/// Converts `message`, whose full name is `full_name` (e.g.
/// `omnibus.v1.Webhook`), to JSON.
pub fn to_json(message: &impl prost::Message, full_name: &str) -> Value {
    let Some(descriptor) = omnibus_pool().get_message_by_name(full_name) else {
        return Value::Null;
    };
    match DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()) {
        Ok(dynamic) => dynamic_to_json(&dynamic),
        Err(_) => Value::Null,
    }
}

/// Converts a dynamic message to JSON.
pub fn dynamic_to_json(message: &DynamicMessage) -> Value {
    message
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .unwrap_or(Value::Null)
}

/// Builds a `M` (full name `full_name`) from JSON; unknown fields and wrong
/// types are usage errors naming the problem.
pub fn from_json<M: prost::Message + Default>(
    value: &Value,
    full_name: &str,
) -> Result<M, UsageError> {
    let descriptor = omnibus_pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| UsageError::new(format!("no message type {full_name}")))?;
    let dynamic = dynamic_from_json(descriptor, value)?;
    M::decode(dynamic.encode_to_vec().as_slice())
        .map_err(|e| UsageError::new(format!("cannot build {full_name}: {e}")))
}

/// Builds a dynamic message of type `descriptor` from JSON.
pub fn dynamic_from_json(
    descriptor: prost_reflect::MessageDescriptor,
    value: &Value,
) -> Result<DynamicMessage, UsageError> {
    let name = descriptor.full_name().to_owned();
    DynamicMessage::deserialize_with_options(descriptor, value, &DeserializeOptions::new())
        .map_err(|e| UsageError::new(format!("not a valid {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use omnibus_proto::{ChannelSettings, Schedule, WeeklyInterval};
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_round_trip_through_json() {
        let settings = ChannelSettings {
            inactivity_close_seconds: Some(900),
            schedule: Some(Schedule {
                timezone: "Europe/Berlin".into(),
                weekly: vec![WeeklyInterval {
                    weekday: 1,
                    open: "09:00".into(),
                    close: "18:00".into(),
                }],
                holidays: vec!["2026-12-25".into()],
            }),
            ..Default::default()
        };
        let value = to_json(&settings, "omnibus.v1.ChannelSettings");
        assert_eq!(value["inactivity_close_seconds"], 900);
        assert_eq!(value["schedule"]["holidays"][0], "2026-12-25");
        let back: ChannelSettings = from_json(&value, "omnibus.v1.ChannelSettings").unwrap();
        assert_eq!(back, settings);
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err = from_json::<ChannelSettings>(
            &json!({"inactivity_close_secs": 5}),
            "omnibus.v1.ChannelSettings",
        )
        .unwrap_err();
        assert!(err.to_string().contains("inactivity_close_secs"), "{err}");
    }
}
