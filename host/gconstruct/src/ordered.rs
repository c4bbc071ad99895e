//! Writing `data_transform_new.json` with the input config's key order, as Python's
//! `json.dump` of the loaded dict does. serde_json's `Map` sorts keys unless its
//! `preserve_order` feature is on, which would change every crate of the workspace, so the
//! order is kept here: the input text is read into an ordered tree and the updated config is
//! merged into it, new keys going last.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON value whose objects keep their key order.
enum Ordered {
    Leaf(Value),
    Arr(Vec<Ordered>),
    Obj(Vec<(String, Ordered)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Ordered::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut v: Vec<(String, Ordered)> = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Ordered>()? {
                    // A repeated key: the last one wins, in the first one's place.
                    match v.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = x,
                        None => v.push((k, x)),
                    }
                }
                Ok(Ordered::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Leaf(v) => v.serialize(s),
            Ordered::Arr(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Ordered::Obj(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Keys GraphStorm appends at the top level, in its order; other new keys go last, sorted.
const APPENDED_FIRST: [&str; 2] = ["is_homogeneous", "add_reverse_edges"];

/// `updated`, with the key order of `original` where it has the same keys.
fn merge(original: Option<Ordered>, updated: &Value) -> Ordered {
    match (original, updated) {
        (Some(Ordered::Obj(orig)), Value::Object(new)) => {
            let mut out = Vec::with_capacity(new.len());
            let mut seen = Vec::new();
            for (k, v) in orig {
                if let Some(u) = new.get(&k) {
                    out.push((k.clone(), merge(Some(v), u)));
                    seen.push(k);
                }
            }
            let mut rest: Vec<&String> = new.keys().filter(|k| !seen.contains(k)).collect();
            rest.sort_by_key(|k| {
                (
                    APPENDED_FIRST
                        .iter()
                        .position(|f| f == k)
                        .unwrap_or(usize::MAX),
                    (*k).clone(),
                )
            });
            for k in rest {
                out.push((k.clone(), merge(None, &new[k])));
            }
            Ordered::Obj(out)
        }
        (Some(Ordered::Arr(orig)), Value::Array(new)) if orig.len() == new.len() => Ordered::Arr(
            orig.into_iter()
                .zip(new)
                .map(|(o, u)| merge(Some(o), u))
                .collect(),
        ),
        (_, Value::Array(new)) => Ordered::Arr(new.iter().map(|u| merge(None, u)).collect()),
        (_, Value::Object(new)) => Ordered::Obj(
            new.iter()
                .map(|(k, u)| (k.clone(), merge(None, u)))
                .collect(),
        ),
        (_, leaf) => Ordered::Leaf(leaf.clone()),
    }
}

/// `updated` as JSON text indented by four spaces (as `json.dump(..., indent=4)`), with the
/// key order of `original_text` where it has the same keys.
pub(crate) fn to_ordered_text(original_text: &str, updated: &Value) -> String {
    let original: Option<Ordered> = serde_json::from_str(original_text).ok();
    let merged = merge(original, updated);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    merged
        .serialize(&mut ser)
        .expect("JSON values always serialise");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_input_order_and_appends_new_keys() {
        let text = r#"{"version": "a", "nodes": [{"z": 1, "alpha": {"name": "m"}}], "edges": []}"#;
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["nodes"][0]["alpha"]["max_val"] = Value::from(vec![3]);
        v["add_reverse_edges"] = Value::from(true);
        v["is_homogeneous"] = Value::from(false);
        let out = to_ordered_text(text, &v);
        let keys: Vec<usize> = [
            "\"version\"",
            "\"nodes\"",
            "\"z\"",
            "\"alpha\"",
            "\"name\"",
            "\"max_val\"",
            "\"edges\"",
            "\"is_homogeneous\"",
            "\"add_reverse_edges\"",
        ]
        .iter()
        .map(|k| out.find(k).unwrap_or_else(|| panic!("{k} in {out}")))
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
        assert!(
            out.contains("\n    \"version\""),
            "four-space indent: {out}"
        );
    }
}
