//! Values as the membrane stores them: `google.protobuf.Struct`, a JSON
//! object. Conversions to and from serde types go through `serde_json`.

use prost_types::{value::Kind, ListValue, Struct, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value as Json};

/// Serializes `value`, which must come out as a JSON object.
pub(crate) fn to_struct<T: Serialize + ?Sized>(value: &T) -> Result<Struct, String> {
    match serde_json::to_value(value).map_err(|error| error.to_string())? {
        Json::Object(map) => Ok(object_to_struct(map)),
        other => Err(format!(
            "values must serialize to a JSON object, not {}; wrap it in a struct",
            kind_name(&other)
        )),
    }
}

/// Deserializes a stored object into `T`.
pub(crate) fn from_struct<T: DeserializeOwned>(content: Struct) -> Result<T, String> {
    serde_json::from_value(struct_to_json(content)).map_err(|error| error.to_string())
}

fn kind_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn object_to_struct(map: Map<String, Json>) -> Struct {
    Struct {
        fields: map
            .into_iter()
            .map(|(key, value)| (key, json_to_value(value)))
            .collect(),
    }
}

fn json_to_value(json: Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(flag) => Kind::BoolValue(flag),
        // Struct numbers are doubles: integers beyond 2^53 lose precision,
        // as they do in every Nitric SDK.
        Json::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or(f64::NAN)),
        Json::String(text) => Kind::StringValue(text),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Json::Object(map) => Kind::StructValue(object_to_struct(map)),
    };
    Value { kind: Some(kind) }
}

fn struct_to_json(content: Struct) -> Json {
    Json::Object(
        content
            .fields
            .into_iter()
            .map(|(key, value)| (key, value_to_json(value)))
            .collect(),
    )
}

fn value_to_json(value: Value) -> Json {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(flag)) => Json::Bool(flag),
        Some(Kind::NumberValue(number)) => number_to_json(number),
        Some(Kind::StringValue(text)) => Json::String(text),
        Some(Kind::ListValue(list)) => {
            Json::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(content)) => struct_to_json(content),
    }
}

/// Whole doubles come back as JSON integers, so they deserialize into Rust
/// integer types again.
fn number_to_json(number: f64) -> Json {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() <= EXACT {
        Json::Number(Number::from(number as i64))
    } else {
        Number::from_f64(number).map_or(Json::Null, Json::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Member {
        id: u32,
        name: String,
        score: f64,
        tags: Vec<String>,
        owner: Option<Box<Member>>,
    }

    #[test]
    fn round_trips_typed_values() {
        let member = Member {
            id: 7,
            name: "ada".into(),
            score: 2.5,
            tags: vec!["a".into()],
            owner: Some(Box::new(Member {
                id: 1,
                name: "root".into(),
                score: -1.0,
                tags: vec![],
                owner: None,
            })),
        };
        let stored = to_struct(&member).unwrap();
        assert_eq!(from_struct::<Member>(stored).unwrap(), member);
    }

    #[test]
    fn refuses_values_that_are_not_objects() {
        assert!(to_struct(&42).unwrap_err().contains("not a number"));
        assert!(to_struct(&vec![1]).unwrap_err().contains("not an array"));
    }
}
