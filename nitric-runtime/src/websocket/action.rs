//! Actions: JSON messages routed by their `"action"` field to one handler
//! each, and the replies sent back for messages that carry a `"ref"`.
//!
//! A message `{"action": "join", "ref": "42", "room": "lobby"}` runs the
//! handler registered with `action = "join"` on its socket; that handler's
//! return value becomes the reply `{"ref": "42", "status": "ok",
//! "response": ...}`, or `{"ref": "42", "status": "error", "response":
//! {"reason": "..."}}` when it fails or times out. A message without a
//! `"ref"` gets no reply. See `docs/actions.md`.

use crate::error::BoxError;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Json;

/// The field of a message naming its action.
pub const ACTION_FIELD: &str = "action";
/// The field of a message asking for a reply; the reply carries it back.
pub const REF_FIELD: &str = "ref";

/// What an action handler's run comes to: the reply's `response`, or why it
/// failed.
pub type ActionResult = Result<Value, BoxError>;

/// Turns an action handler's return value into the reply's `response`.
///
/// Implemented for `()` and `Result<(), E>` (the response is `null`), and
/// for [`Json<T>`] and `Result<Json<T>, E>` (the response is `T` as JSON),
/// where `E` converts into a boxed error whose message becomes the error
/// reply's `reason`.
///
/// ```
/// use nitric_runtime::websocket::{IntoActionResult, Json};
///
/// assert_eq!(().into_action_result().unwrap(), serde_json::Value::Null);
/// let joined: Result<Json<&str>, String> = Ok(Json("lobby"));
/// assert_eq!(joined.into_action_result().unwrap(), "lobby");
/// let full: Result<Json<&str>, String> = Err("the room is full".into());
/// assert_eq!(full.into_action_result().unwrap_err().to_string(), "the room is full");
/// ```
#[diagnostic::on_unimplemented(
    message = "an action handler cannot return `{Self}`",
    label = "return `()`, `Json<T>` or a `Result` of either here",
    note = "the return value of an action handler is the reply's `response`: `Json<T>` for any `T: serde::Serialize`, `()` for `null`, or a `Result` of either whose error converts into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait IntoActionResult {
    /// The reply's `response`, or the error that becomes its `reason`.
    fn into_action_result(self) -> ActionResult;
}

impl IntoActionResult for () {
    fn into_action_result(self) -> ActionResult {
        Ok(Value::Null)
    }
}

impl<T: Serialize> IntoActionResult for Json<T> {
    fn into_action_result(self) -> ActionResult {
        serde_json::to_value(&self.0).map_err(|error| {
            BoxError::from(format!("the reply cannot be serialized as JSON: {error}"))
        })
    }
}

impl<E: Into<BoxError>> IntoActionResult for Result<(), E> {
    fn into_action_result(self) -> ActionResult {
        self.map(|()| Value::Null).map_err(Into::into)
    }
}

impl<T: Serialize, E: Into<BoxError>> IntoActionResult for Result<Json<T>, E> {
    fn into_action_result(self) -> ActionResult {
        self.map_err(Into::into)?.into_action_result()
    }
}

/// What routing reads from a message: its action, if it is a JSON object
/// with a string in the socket's action field (`"action"` unless its
/// handlers say `field = "..."`), and its `"ref"`, if it has one.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Envelope {
    pub(crate) action: Option<String>,
    /// A string or a number, echoed back as it came.
    pub(crate) reference: Option<Value>,
}

impl Envelope {
    /// Reads the envelope; a message that is not a JSON object has none.
    pub(crate) fn read(body: &[u8], field: &str) -> Self {
        // Only a message that starts like an object is parsed, so plain
        // text costs one byte comparison.
        let starts_as_object = body
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|&byte| byte == b'{');
        if !starts_as_object {
            return Self::default();
        }
        let Ok(object) = serde_json::from_slice::<Map<String, Value>>(body) else {
            return Self::default();
        };
        let action = match object.get(field) {
            Some(Value::String(action)) => Some(action.clone()),
            _ => None,
        };
        let reference = object
            .get(REF_FIELD)
            .filter(|reference| reference.is_string() || reference.is_number())
            .cloned();
        Self { action, reference }
    }
}

/// The reply to a message with `"ref"` whose handler succeeded.
pub(crate) fn ok_reply(reference: &Value, response: Value) -> Value {
    serde_json::json!({ REF_FIELD: reference, "status": "ok", "response": response })
}

/// The reply to a message with `"ref"` whose handler failed, timed out,
/// or was never found.
pub(crate) fn error_reply(reference: &Value, reason: &str) -> Value {
    serde_json::json!({ REF_FIELD: reference, "status": "error", "response": { "reason": reason } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(body: &str) -> Envelope {
        Envelope::read(body.as_bytes(), ACTION_FIELD)
    }

    #[test]
    fn reads_the_action_and_the_ref() {
        assert_eq!(
            envelope(r#" {"action": "join", "ref": "42", "room": "lobby"}"#),
            Envelope {
                action: Some("join".into()),
                reference: Some(json!("42")),
            }
        );
        assert_eq!(
            envelope(r#"{"action":"ping","ref":7}"#).reference,
            Some(json!(7))
        );
    }

    #[test]
    fn anything_else_has_no_action() {
        for body in [
            "hello",
            "",
            "[1,2]",
            "{not json",
            r#"{"action": 3}"#,
            r#""action""#,
        ] {
            assert_eq!(envelope(body).action, None, "{body}");
        }
        assert_eq!(envelope(r#"{"action":"x","ref":{"a":1}}"#).reference, None);
    }

    #[test]
    fn replies_carry_the_ref_back() {
        assert_eq!(
            ok_reply(&json!("42"), json!({"room": "lobby"})),
            json!({"ref": "42", "status": "ok", "response": {"room": "lobby"}})
        );
        assert_eq!(
            error_reply(&json!(7), "timed out"),
            json!({"ref": 7, "status": "error", "response": {"reason": "timed out"}})
        );
    }
}
