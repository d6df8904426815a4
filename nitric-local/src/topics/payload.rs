//! A topic message's payload as JSON, so logs show what was published.

use nitric_protocol::prost_types::{value::Kind, Struct, Value};
use nitric_protocol::topics::v1::{topic_message::Content, TopicMessage};

/// The payload of `message` as JSON (`null` if it has none).
pub(super) fn to_json(message: &TopicMessage) -> serde_json::Value {
    match &message.content {
        Some(Content::StructPayload(payload)) => object(payload),
        None => serde_json::Value::Null,
    }
}

/// The payload of `message` as JSON, cut after `max_chars` characters
/// (marked with a trailing `…`), so a large payload cannot flood the log.
pub(super) fn preview(message: &TopicMessage, max_chars: usize) -> String {
    let mut json = to_json(message).to_string();
    if let Some((cut, _)) = json.char_indices().nth(max_chars) {
        json.truncate(cut);
        json.push('…');
    }
    json
}

fn object(fields: &Struct) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .fields
            .iter()
            .map(|(name, value)| (name.clone(), json(value)))
            .collect(),
    )
}

fn json(value: &Value) -> serde_json::Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(flag)) => serde_json::Value::Bool(*flag),
        Some(Kind::NumberValue(number)) => self::number(*number),
        Some(Kind::StringValue(text)) => serde_json::Value::String(text.clone()),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.iter().map(json).collect())
        }
        Some(Kind::StructValue(fields)) => object(fields),
    }
}

/// Protobuf numbers are all doubles; whole ones print as integers, the way
/// the application most likely wrote them. Infinities and NaN, which JSON
/// cannot hold, print as strings.
fn number(number: f64) -> serde_json::Value {
    /// Beyond 2^53 a double no longer holds every integer.
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;
    if number.fract() == 0.0 && number.abs() <= EXACT_INTEGERS {
        return serde_json::Value::from(number as i64);
    }
    serde_json::Number::from_f64(number)
        .map_or_else(|| number.to_string().into(), serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::prost_types::ListValue;

    fn value(kind: Kind) -> Value {
        Value { kind: Some(kind) }
    }

    #[test]
    fn a_payload_prints_as_the_json_it_came_from() {
        let payload = Struct {
            fields: [
                ("name".to_owned(), value(Kind::StringValue("Ann".into()))),
                ("age".to_owned(), value(Kind::NumberValue(42.0))),
                ("score".to_owned(), value(Kind::NumberValue(0.5))),
                ("odd".to_owned(), value(Kind::NumberValue(f64::NAN))),
                ("admin".to_owned(), value(Kind::BoolValue(false))),
                ("none".to_owned(), value(Kind::NullValue(0))),
                (
                    "tags".to_owned(),
                    value(Kind::ListValue(ListValue {
                        values: vec![value(Kind::StringValue("a".into()))],
                    })),
                ),
                (
                    "nested".to_owned(),
                    value(Kind::StructValue(Struct::default())),
                ),
            ]
            .into_iter()
            .collect(),
        };
        let message = TopicMessage {
            content: Some(Content::StructPayload(payload)),
        };
        assert_eq!(
            to_json(&message).to_string(),
            r#"{"admin":false,"age":42,"name":"Ann","nested":{},"none":null,"odd":"NaN","score":0.5,"tags":["a"]}"#
        );
        assert_eq!(to_json(&TopicMessage::default()), serde_json::Value::Null);
    }

    #[test]
    fn a_preview_cuts_long_payloads_on_a_character_boundary() {
        let message = |text: &str| TopicMessage {
            content: Some(Content::StructPayload(Struct {
                fields: [("t".to_owned(), value(Kind::StringValue(text.into())))].into(),
            })),
        };
        assert_eq!(preview(&message("short"), 20), r#"{"t":"short"}"#);
        // Exactly 13 characters: not cut.
        assert_eq!(preview(&message("short"), 13), r#"{"t":"short"}"#);
        assert_eq!(preview(&message("éééééé"), 8), r#"{"t":"éé…"#);
    }
}
