//! serde helpers for provider payloads that write one field in several
//! ways over time (an id as a number or as text, a flag as 0/1 or a bool):
//! the field is read whatever its spelling, and a spelling we cannot read
//! becomes the default instead of failing the whole payload.
//!
//! Use with `#[serde(default, deserialize_with = "omnibus_ingress::lenient::string")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, a number or a bool written as text; anything else is empty.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    })
}

/// An integer, or an integer written as text; anything else is 0.
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
            .unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        Value::Bool(b) => i64::from(b),
        _ => 0,
    })
}

/// A non-negative integer (or one written as text); anything else is 0.
pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        _ => 0,
    })
}

/// A number, or a number written as text; anything else (or a non-finite
/// one) is 0.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let n = match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        _ => 0.0,
    };
    Ok(if n.is_finite() { n } else { 0.0 })
}

/// A bool, or 0/1, or "true"/"false"/"1"/"0"; anything else is false.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim(), "true" | "1"),
        _ => false,
    })
}

/// An object of type `T`, or `None` when the field is missing or of
/// another shape.
pub fn option<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(decode(&Value::deserialize(d)?))
}

/// A list whose elements of another shape are left out (a list of another
/// shape is empty).
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(decode).collect(),
        _ => Vec::new(),
    })
}

/// Decodes one element of a payload on its own, or `None` when it is not
/// of that shape, so one odd element does not cost its neighbours.
pub fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "super::string")]
        s: String,
        #[serde(deserialize_with = "super::i64")]
        i: i64,
        #[serde(deserialize_with = "super::u64")]
        u: u64,
        #[serde(deserialize_with = "super::f64")]
        f: f64,
        #[serde(deserialize_with = "super::bool")]
        b: bool,
    }

    fn sample(json: &str) -> Sample {
        serde_json::from_str(json).expect("lenient fields never fail")
    }

    #[test]
    fn every_spelling_is_read() {
        let a = sample(r#"{"s":12,"i":"-7","u":"9","f":"1.5","b":1}"#);
        assert_eq!((a.s.as_str(), a.i, a.u, a.f, a.b), ("12", -7, 9, 1.5, true));
        let b = sample(r#"{"s":"x","i":5,"u":4912661846655238145,"f":2,"b":"true"}"#);
        assert_eq!(
            (b.s.as_str(), b.i, b.u, b.f, b.b),
            ("x", 5, 4_912_661_846_655_238_145, 2.0, true)
        );
    }

    #[test]
    fn unreadable_spellings_become_defaults() {
        let c = sample(r#"{"s":[1],"i":{},"u":-3,"f":"nan","b":"yes"}"#);
        assert_eq!((c.s.as_str(), c.i, c.u, c.f, c.b), ("", 0, 0, 0.0, false));
    }
}
