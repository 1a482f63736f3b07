//! proptest strategies for property tests of webhook parsers and
//! normalizers (issue 11): whatever a provider, a proxy or an attacker
//! sends, a parser answers with a contract status and never panics.
//!
//! - [`bytes`]: any bytes, JSON-looking or not;
//! - [`json`]: any JSON value, nested;
//! - [`mutated`]: a real payload with one part replaced by any JSON, removed,
//!   or its text cut or corrupted.

pub mod shaped;

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Cases per property in the normal test run.
pub const CASES: u32 = 10_000;

/// Any bytes, up to 2 KiB.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

/// Any JSON value, up to four levels deep.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `fixture` changed in one place: a value (at any depth) replaced with any
/// JSON or removed, or the serialized text cut short or with a byte changed.
pub fn mutated(fixture: Value) -> impl Strategy<Value = Vec<u8>> {
    let paths = paths(&fixture);
    let count = paths.len().max(1);
    let text = fixture.to_string().into_bytes();
    let len = text.len().max(1);
    prop_oneof![
        4 => (0..count, json()).prop_map({
            let (fixture, paths) = (fixture.clone(), paths.clone());
            move |(n, value)| replace(&fixture, paths.get(n), Some(value))
        }),
        2 => (0..count).prop_map({
            let (fixture, paths) = (fixture.clone(), paths.clone());
            move |n| replace(&fixture, paths.get(n), None)
        }),
        1 => (0..len).prop_map({
            let text = text.clone();
            move |cut| text[..cut].to_vec()
        }),
        1 => (0..len, any::<u8>()).prop_map(move |(at, byte)| {
            let mut text = text.clone();
            if let Some(b) = text.get_mut(at) {
                *b = byte;
            }
            text
        }),
    ]
}

/// JSON pointers of every value in `value`, the root included: where a
/// mutation may strike.
pub fn paths(value: &Value) -> Vec<String> {
    let mut out = vec![String::new()];
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        out.extend(paths(child).into_iter().map(|p| format!("/{key}{p}")));
    }
    out
}

fn replace(fixture: &Value, path: Option<&String>, with: Option<Value>) -> Vec<u8> {
    let mut value = fixture.clone();
    match (path.map(String::as_str), with) {
        (None | Some(""), Some(new)) => value = new,
        (None | Some(""), None) => value = Value::Null,
        (Some(path), new) => {
            let (parent, key) = path.rsplit_once('/').unwrap_or(("", path));
            if let Some(parent) = value.pointer_mut(parent) {
                let key = key.replace("~1", "/").replace("~0", "~");
                match (parent, new) {
                    (Value::Object(map), Some(new)) => drop(map.insert(key, new)),
                    (Value::Object(map), None) => drop(map.remove(&key)),
                    (Value::Array(items), new) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < items.len()
                        {
                            match new {
                                Some(new) => items[i] = new,
                                None => drop(items.remove(i)),
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    value.to_string().into_bytes()
}
