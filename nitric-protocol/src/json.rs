//! JSON and `google.protobuf.Struct`, the type of key/value contents and
//! topic payloads.
//!
//! A `Struct` is a JSON object in protobuf form: each [`Value`] is null, a
//! boolean, a number, a string, a list or a nested `Struct`. Both sides of
//! the contract convert between it and JSON alike:
//!
//! - [`to_struct`] and [`from_struct`]: any serde type, which must be a
//!   JSON object (a struct or a map), to a `Struct` and back;
//! - [`object_to_struct`] / [`json_to_value`] and [`struct_to_json`] /
//!   [`value_to_json`]: the same for [`serde_json::Value`]s.
//!
//! Numbers: a `Struct` holds every number as a double (`f64`), as
//! JavaScript does. Integers up to 2^53 in size convert exactly, and come
//! back as JSON integers, so they deserialize into Rust integer types
//! again; larger ones lose precision, as in every Nitric SDK. A NaN or an
//! infinity, which JSON cannot hold, becomes `null`, as `serde_json` makes
//! of them.
//!
//! ```
//! use nitric_protocol::json;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Profile {
//!     name: String,
//!     visits: u64,
//!     tags: Vec<String>,
//! }
//!
//! let profile = Profile { name: "ada".into(), visits: 3, tags: vec!["admin".into()] };
//! let content = json::to_struct(&profile)?;
//! assert_eq!(content.fields.len(), 3);
//! assert_eq!(json::from_struct::<Profile>(content)?, profile);
//! # Ok::<(), json::JsonError>(())
//! ```

use std::fmt;

use prost_types::{value::Kind, ListValue, Struct, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value as Json};

/// Beyond 2^53 a double no longer holds every integer.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Why a value could not be converted.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonError {
    /// The value is not a JSON object (a `Struct` holds only objects);
    /// `found` says what it is instead, such as `"a number"`.
    NotAnObject {
        /// What the value is: `"null"`, `"a boolean"`, `"a number"`,
        /// `"a string"` or `"an array"`.
        found: &'static str,
    },
    /// Serializing the value, or deserializing the object into the type
    /// asked for, failed.
    Serde(serde_json::Error),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotAnObject { found } => write!(
                f,
                "values must serialize to a JSON object, not {found}; wrap it in a struct"
            ),
            JsonError::Serde(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JsonError::NotAnObject { .. } => None,
            JsonError::Serde(error) => Some(error),
        }
    }
}

/// Serializes `value`, which must come out as a JSON object, into a
/// `Struct`.
///
/// ```
/// use nitric_protocol::json;
/// use std::collections::BTreeMap;
///
/// let counts = BTreeMap::from([("hits", 2)]);
/// assert_eq!(json::to_struct(&counts)?.fields.len(), 1);
///
/// let error = json::to_struct(&42).unwrap_err();
/// assert!(error.to_string().contains("not a number"), "{error}");
/// # Ok::<(), json::JsonError>(())
/// ```
pub fn to_struct<T: Serialize + ?Sized>(value: &T) -> Result<Struct, JsonError> {
    match serde_json::to_value(value).map_err(JsonError::Serde)? {
        Json::Object(object) => Ok(object_to_struct(object)),
        other => Err(JsonError::NotAnObject {
            found: kind_name(&other),
        }),
    }
}

/// Deserializes the object `content` holds into a `T`.
///
/// ```
/// use nitric_protocol::json;
///
/// #[derive(serde::Deserialize)]
/// struct Person {
///     name: String,
///     age: u8,
/// }
///
/// let content = json::to_struct(&serde_json::json!({ "name": "ada", "age": 36 }))?;
/// let person: Person = json::from_struct(content)?;
/// assert_eq!((person.name.as_str(), person.age), ("ada", 36));
/// # Ok::<(), json::JsonError>(())
/// ```
pub fn from_struct<T: DeserializeOwned>(content: Struct) -> Result<T, JsonError> {
    serde_json::from_value(struct_to_json(content)).map_err(JsonError::Serde)
}

/// A JSON object as a `Struct`.
///
/// ```
/// use nitric_protocol::json;
/// use nitric_protocol::prost_types::value::Kind;
///
/// let serde_json::Value::Object(object) = serde_json::json!({ "done": true }) else {
///     unreachable!()
/// };
/// let content = json::object_to_struct(object);
/// assert_eq!(content.fields["done"].kind, Some(Kind::BoolValue(true)));
/// ```
pub fn object_to_struct(object: Map<String, Json>) -> Struct {
    Struct {
        fields: object
            .into_iter()
            .map(|(key, value)| (key, json_to_value(value)))
            .collect(),
    }
}

/// A JSON value as a protobuf [`Value`]; numbers become doubles.
///
/// ```
/// use nitric_protocol::json;
/// use nitric_protocol::prost_types::value::Kind;
///
/// assert_eq!(json::json_to_value(serde_json::json!(7)).kind, Some(Kind::NumberValue(7.0)));
/// assert_eq!(json::json_to_value(serde_json::Value::Null).kind, Some(Kind::NullValue(0)));
/// ```
pub fn json_to_value(json: Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(flag) => Kind::BoolValue(flag),
        // Every number fits a double, if not always exactly.
        Json::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or(f64::NAN)),
        Json::String(text) => Kind::StringValue(text),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Json::Object(object) => Kind::StructValue(object_to_struct(object)),
    };
    Value { kind: Some(kind) }
}

/// A `Struct` as the JSON object it stands for.
///
/// ```
/// use nitric_protocol::json;
/// use serde_json::json;
///
/// let content = json::to_struct(&json!({ "id": 7, "score": 0.5, "tags": ["a"], "owner": null }))?;
/// assert_eq!(
///     json::struct_to_json(content).to_string(),
///     r#"{"id":7,"owner":null,"score":0.5,"tags":["a"]}"#
/// );
/// # Ok::<(), json::JsonError>(())
/// ```
pub fn struct_to_json(content: Struct) -> Json {
    Json::Object(
        content
            .fields
            .into_iter()
            .map(|(key, value)| (key, value_to_json(value)))
            .collect(),
    )
}

/// A protobuf [`Value`] as JSON: a whole number as an integer, a value
/// without a kind as `null`.
///
/// ```
/// use nitric_protocol::json;
/// use nitric_protocol::prost_types::{value::Kind, Value};
///
/// let number = |n| Value { kind: Some(Kind::NumberValue(n)) };
/// assert_eq!(json::value_to_json(number(42.0)), serde_json::json!(42));
/// assert_eq!(json::value_to_json(number(0.5)), serde_json::json!(0.5));
/// assert_eq!(json::value_to_json(number(f64::NAN)), serde_json::Value::Null);
/// assert_eq!(json::value_to_json(Value { kind: None }), serde_json::Value::Null);
/// ```
pub fn value_to_json(value: Value) -> Json {
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

/// Whole doubles as JSON integers, so they deserialize into Rust integer
/// types again; NaN and the infinities as `null`.
fn number_to_json(number: f64) -> Json {
    if number.fract() == 0.0 && number.abs() <= EXACT_INTEGERS {
        Json::Number(Number::from(number as i64))
    } else {
        Number::from_f64(number).map_or(Json::Null, Json::Number)
    }
}

/// What a JSON value is, in words for an error message.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Member {
        id: u32,
        name: String,
        score: f64,
        tags: Vec<String>,
        owner: Option<Box<Member>>,
    }

    #[test]
    fn typed_values_round_trip_with_nesting_and_null() {
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
        let content = to_struct(&member).unwrap();
        let Some(Kind::StructValue(owner)) = &content.fields["owner"].kind else {
            panic!("the owner is a nested struct: {content:?}");
        };
        assert_eq!(owner.fields["owner"].kind, Some(Kind::NullValue(0)));
        assert_eq!(from_struct::<Member>(content).unwrap(), member);
    }

    #[test]
    fn json_values_round_trip() {
        let object = json!({
            "bool": false,
            "int": -12,
            "float": 0.25,
            "text": "é",
            "list": [1, "two", null, [3]],
            "nested": { "empty": {} },
            "none": null,
        });
        let content = to_struct(&object).unwrap();
        assert_eq!(struct_to_json(content), object);
    }

    #[test]
    fn numbers_are_doubles_and_whole_ones_come_back_as_integers() {
        let number = |n| {
            value_to_json(Value {
                kind: Some(Kind::NumberValue(n)),
            })
        };
        assert_eq!(number(3.0), json!(3));
        assert!(number(3.0).is_i64());
        assert_eq!(number(-0.0), json!(0));
        assert_eq!(number(EXACT_INTEGERS), json!(9_007_199_254_740_992_i64));
        // Past 2^53 a number stays a double.
        assert!(number(EXACT_INTEGERS * 4.0).is_f64());
        assert_eq!(number(1.5), json!(1.5));
        for odd in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(number(odd), Json::Null);
        }
        assert_eq!(
            json_to_value(json!(u64::MAX)).kind,
            Some(Kind::NumberValue(u64::MAX as f64))
        );
    }

    #[test]
    fn only_objects_make_a_struct() {
        let refused = |value: &Json| match to_struct(value) {
            Err(JsonError::NotAnObject { found }) => found,
            other => panic!("{value} was not refused: {other:?}"),
        };
        assert_eq!(refused(&json!(42)), "a number");
        assert_eq!(refused(&json!([1])), "an array");
        assert_eq!(refused(&json!("x")), "a string");
        assert_eq!(refused(&json!(true)), "a boolean");
        assert_eq!(refused(&Json::Null), "null");
        assert_eq!(
            to_struct(&42).unwrap_err().to_string(),
            "values must serialize to a JSON object, not a number; wrap it in a struct"
        );
    }

    #[test]
    fn a_struct_of_the_wrong_shape_does_not_deserialize() {
        let content = to_struct(&json!({ "id": "seven" })).unwrap();
        let error = from_struct::<Member>(content).unwrap_err();
        assert!(matches!(error, JsonError::Serde(_)));
        assert!(std::error::Error::source(&error).is_some());
    }
}
