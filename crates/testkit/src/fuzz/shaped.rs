//! Random JSON shaped like one provider's payloads (object keys drawn from
//! its field names, so a parser is reached deep) and in-place mutations of
//! real fixtures.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Random JSON up to four levels deep whose object keys are drawn from
/// `keys` (a provider's field names, so the parser reaches deep) and whose
/// strings are random or drawn from `words` (values that matter to it).
pub fn json(keys: Vec<&'static str>, words: Vec<&'static str>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,16}".prop_map(Value::from),
        prop::sample::select(words).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(keys.clone()).prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a place chosen by `choice` inside `value` (the
/// root itself when `choice` says so) with `with`.
pub fn mutate(value: &mut Value, choice: usize, with: Value) {
    if !choice.is_multiple_of(4) {
        let child = match value {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(choice % map.len())
                    .cloned()
                    .unwrap_or_default();
                map.get_mut(&key)
            }
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                items.get_mut(choice % len)
            }
            _ => None,
        };
        if let Some(child) = child {
            return mutate(child, choice / 3, with);
        }
    }
    *value = with;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutation_changes_one_place() {
        let mut value = json!({ "a": { "b": [1, 2] } });
        mutate(&mut value, 0, json!("root"));
        assert_eq!(value, json!("root"));
        let mut value = json!({ "a": { "b": [1, 2] } });
        mutate(&mut value, 1, json!(null));
        assert_ne!(value, json!({ "a": { "b": [1, 2] } }));
        assert!(value.get("a").is_some(), "only a part was replaced");
    }
}
