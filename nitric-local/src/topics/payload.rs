//! A topic message's payload as JSON, so logs show what was published
//! (converted as [`nitric_protocol::json`] says).

use nitric_protocol::json;
use nitric_protocol::topics::v1::{topic_message::Content, TopicMessage};

/// The payload of `message` as JSON (`null` if it has none). It converts a
/// copy: logs ask for it only when a message is dropped.
pub(super) fn to_json(message: &TopicMessage) -> serde_json::Value {
    match &message.content {
        Some(Content::StructPayload(payload)) => json::struct_to_json(payload.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::prost_types::{value::Kind, ListValue, Struct, Value};

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
            r#"{"admin":false,"age":42,"name":"Ann","nested":{},"none":null,"odd":null,"score":0.5,"tags":["a"]}"#
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
