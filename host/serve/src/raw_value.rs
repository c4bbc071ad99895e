//! A raw feature value of a payload, as it is read: an integer, a number, a text, a list of
//! numbers, or anything else (kept as JSON for the error that refuses it). Lists of numbers
//! are read straight into floats, without a JSON tree per number.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A raw feature value.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Integer(i64),
    Number(f64),
    Text(String),
    Numbers(Vec<f64>),
    /// Anything else: a boolean, null, an object, a list that is not all numbers.
    Other(Value),
}

impl RawValue {
    /// The value a JSON tree holds, as the fast path reads the same text.
    pub fn from_value(v: Value) -> Self {
        match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) => RawValue::Integer(i),
                None => RawValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => RawValue::Text(s),
            Value::Array(a) if a.iter().all(Value::is_number) => {
                RawValue::Numbers(a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
            }
            other => RawValue::Other(other),
        }
    }

    /// The value as a float, when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            RawValue::Integer(i) => Some(*i as f64),
            RawValue::Number(x) => Some(*x),
            _ => None,
        }
    }
}

impl std::fmt::Display for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawValue::Integer(i) => write!(f, "{i}"),
            RawValue::Number(x) => write!(f, "{x}"),
            RawValue::Text(s) => write!(f, "{}", Value::String(s.clone())),
            RawValue::Numbers(v) if v.len() > 8 => write!(f, "a list of {} numbers", v.len()),
            RawValue::Numbers(v) => write!(f, "{v:?}"),
            RawValue::Other(v) => write!(f, "{v}"),
        }
    }
}

/// An element of a list: a number (as JSON has it), or the JSON of anything else.
enum Element {
    Number(serde_json::Number),
    Other(Value),
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_i64<E>(self, v: i64) -> Result<Element, E> {
                Ok(Element::Number(v.into()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Element, E> {
                Ok(Element::Number(v.into()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Element, E> {
                Ok(serde_json::Number::from_f64(v)
                    .map_or(Element::Other(Value::Null), Element::Number))
            }

            fn visit_str<E>(self, v: &str) -> Result<Element, E> {
                Ok(Element::Other(Value::String(v.to_string())))
            }

            fn visit_bool<E>(self, v: bool) -> Result<Element, E> {
                Ok(Element::Other(Value::Bool(v)))
            }

            fn visit_unit<E>(self) -> Result<Element, E> {
                Ok(Element::Other(Value::Null))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Element, A::Error> {
                let v = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Element::Other(v))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
                let v = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Element::Other(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a feature value")
            }

            fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Integer(v))
            }

            fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
                Ok(match i64::try_from(v) {
                    Ok(i) => RawValue::Integer(i),
                    Err(_) => RawValue::Number(v as f64),
                })
            }

            fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
                Ok(RawValue::Number(v))
            }

            fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Text(v.to_string()))
            }

            fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
                Ok(RawValue::Text(v))
            }

            fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Other(Value::Bool(v)))
            }

            fn visit_unit<E>(self) -> Result<RawValue, E> {
                Ok(RawValue::Other(Value::Null))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                let mut numbers: Vec<serde_json::Number> =
                    Vec::with_capacity(seq.size_hint().unwrap_or(16));
                while let Some(element) = seq.next_element::<Element>()? {
                    match element {
                        Element::Number(x) => numbers.push(x),
                        Element::Other(first) => {
                            // Not all numbers: the whole list as JSON.
                            let mut all: Vec<Value> =
                                numbers.into_iter().map(Value::Number).collect();
                            all.push(first);
                            while let Some(v) = seq.next_element::<Value>()? {
                                all.push(v);
                            }
                            return Ok(RawValue::Other(Value::Array(all)));
                        }
                    }
                }
                Ok(RawValue::Numbers(
                    numbers
                        .iter()
                        .map(|n| n.as_f64().unwrap_or(f64::NAN))
                        .collect(),
                ))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawValue, A::Error> {
                let v = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawValue::Other(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read straight from text and read from a JSON tree, every kind of value is the same.
    #[test]
    fn both_readings_agree() {
        for text in [
            "7",
            "-3",
            "18446744073709551615",
            "2.5",
            "1e300",
            "\"paris\"",
            "\"\\u00e9\"",
            "[1, 2.5, -3]",
            "[]",
            "[1, \"a\", 2]",
            "[[1], 2]",
            "true",
            "null",
            "{\"a\": 1}",
        ] {
            let fast: RawValue = serde_json::from_str(text).unwrap();
            let tree = RawValue::from_value(serde_json::from_str(text).unwrap());
            assert_eq!(fast, tree, "{text}");
        }
        assert_eq!(
            serde_json::from_str::<RawValue>("[1, 2]").unwrap(),
            RawValue::Numbers(vec![1.0, 2.0])
        );
    }
}
