//! Phoenix-style assertions on what clients receive: `assert_push`,
//! `assert_reply`, `refute_push` on a [`TestClient`], and
//! [`assert_broadcast`] over several; their failures show the expected
//! JSON beside every message received while waiting, with a line diff
//! against the closest one.

use super::{Received, TestClient, TestError};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// The reply to a [`TestClient::request`]: its `"status"` and `"response"`.
///
/// ```
/// use nitric_runtime::testing::Reply;
/// use serde_json::json;
///
/// let reply = Reply::from_json(&json!({"ref": "1", "status": "ok", "response": {"room": "lobby"}}));
/// assert_eq!(reply, Some(Reply::Ok(json!({"room": "lobby"}))));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `"status": "ok"`, with the handler's response.
    Ok(Value),
    /// `"status": "error"`, with the response, `{"reason": "..."}`.
    Error(Value),
}

impl Reply {
    /// Reads a reply message; `None` if it is not one.
    pub fn from_json(message: &Value) -> Option<Self> {
        let response = message.get("response").cloned().unwrap_or(Value::Null);
        match message.get("status")?.as_str()? {
            "ok" => Some(Self::Ok(response)),
            "error" => Some(Self::Error(response)),
            _ => None,
        }
    }

    /// The response of an ok reply; the error reply's reason as the error.
    pub fn into_ok(self) -> Result<Value, TestError> {
        match self {
            Self::Ok(response) => Ok(response),
            Self::Error(response) => Err(TestError::new(format!(
                "expected an ok reply, got an error reply:\n{}",
                pretty(&response)
            ))),
        }
    }
}

/// Asserts that every one of `clients` receives `expected` (as JSON) within
/// its timeout, as Phoenix's `assert_broadcast` does for one process;
/// other messages stay queued for later assertions.
///
/// ```no_run
/// # async fn example(app: nitric_runtime::testing::TestApp) -> Result<(), nitric_runtime::testing::TestError> {
/// use nitric_runtime::testing::assert_broadcast;
/// use serde_json::json;
///
/// let mut ada = app.connect("public").await?;
/// let mut bob = app.connect("public").await?;
/// ada.send_json(&json!({"action": "say", "text": "hi"})).await?;
/// assert_broadcast(&mut [&mut ada, &mut bob], &json!({"said": "hi"})).await?;
/// # Ok(())
/// # }
/// ```
pub async fn assert_broadcast<T: Serialize + ?Sized>(
    clients: &mut [&mut TestClient],
    expected: &T,
) -> Result<(), TestError> {
    let expected = to_json(expected)?;
    let mut failures = Vec::new();
    for (index, client) in clients.iter_mut().enumerate() {
        if let Err(error) = client.assert_push(&expected).await {
            failures.push(format!("client {index}: {error}"));
        }
    }
    match failures.is_empty() {
        true => Ok(()),
        false => Err(TestError::new(format!(
            "assert_broadcast: {} of {} clients did not receive it\n{}",
            failures.len(),
            clients.len(),
            failures.join("\n")
        ))),
    }
}

pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, TestError> {
    serde_json::to_value(value)
        .map_err(|error| TestError::new(format!("cannot serialize the expected value: {error}")))
}

/// A received message as JSON, if it is JSON.
pub(super) fn as_json(received: &Received) -> Option<Value> {
    serde_json::from_slice(received.as_bytes()).ok()
}

pub(super) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// The failure message of an assertion that waited for `expected` and saw
/// `received` instead.
pub(super) fn not_received(what: &str, expected: &Value, received: &[Received]) -> String {
    let mut message = format!("{what}\nexpected:\n{}\n", indent(&pretty(expected)));
    if received.is_empty() {
        message.push_str("received: nothing\n");
        return message;
    }
    let _ = writeln!(message, "received ({} messages):", received.len());
    let mut closest: Option<(usize, Value)> = None;
    for (index, message_received) in received.iter().enumerate() {
        let shown = match as_json(message_received) {
            Some(json) => {
                let distance = line_diff(expected, &json).1;
                if closest.as_ref().is_none_or(|(best, _)| distance < *best) {
                    closest = Some((distance, json.clone()));
                }
                pretty(&json)
            }
            None => format!(
                "{:?} (not JSON)",
                String::from_utf8_lossy(message_received.as_bytes())
            ),
        };
        let _ = writeln!(message, "  #{}:\n{}", index + 1, indent(&indent(&shown)));
    }
    if let Some((_, json)) = closest {
        let _ = write!(
            message,
            "diff against the closest (- expected, + received):\n{}",
            line_diff(expected, &json).0
        );
    }
    message
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}\n"))
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// A line diff of the two values' pretty JSON, and how many lines differ.
pub(super) fn line_diff(expected: &Value, received: &Value) -> (String, usize) {
    let (old, new) = (pretty(expected), pretty(received));
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // Longest common subsequence, then walk it.
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut diff, mut changed) = (0, 0, String::new(), 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            let _ = writeln!(diff, "   {}", old[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            let _ = writeln!(diff, " - {}", old[i]);
            (i, changed) = (i + 1, changed + 1);
        } else {
            let _ = writeln!(diff, " + {}", new[j]);
            (j, changed) = (j + 1, changed + 1);
        }
    }
    (diff, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_marks_what_differs() {
        let (diff, changed) = line_diff(&json!({"a": 1, "b": 2}), &json!({"a": 1, "b": 3}));
        assert_eq!(changed, 2);
        assert_eq!(
            diff,
            "   {\n     \"a\": 1,\n -   \"b\": 2\n +   \"b\": 3\n   }\n"
        );
        assert_eq!(line_diff(&json!([1]), &json!([1])).1, 0);
    }

    #[test]
    fn a_failure_lists_every_message_and_diffs_the_closest() {
        let received = [
            Received::Text("hello".into()),
            Received::Text(r#"{"said":"hi","from":"ada"}"#.into()),
            Received::Text(r#"[1,2,3]"#.into()),
        ];
        let message = not_received(
            "assert_push on socket \"chat\"",
            &json!({"said": "hi", "from": "bob"}),
            &received,
        );
        assert!(message.contains("received (3 messages):"), "{message}");
        assert!(message.contains("\"hello\" (not JSON)"), "{message}");
        assert!(
            message.contains(" -   \"from\": \"bob\",\n +   \"from\": \"ada\","),
            "{message}"
        );
        assert!(not_received("x", &json!(1), &[]).contains("received: nothing"));
    }

    #[test]
    fn replies_are_read_by_status() {
        assert_eq!(
            Reply::from_json(&json!({"ref": 1, "status": "error", "response": {"reason": "no"}})),
            Some(Reply::Error(json!({"reason": "no"})))
        );
        assert_eq!(Reply::from_json(&json!({"status": "maybe"})), None);
        assert!(Reply::Error(json!(null)).into_ok().is_err());
    }
}
