//! Typed messages: the second parameter of a message handler, read from the
//! message before the handler runs.

use super::MessageContext;
use crate::error::BoxError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::convert::Infallible;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// A message handler's second parameter, read from the message before the
/// handler runs.
///
/// When `from_message` fails, the handler does not run: the runtime logs a
/// warning naming the handler, the socket, the connection and the error,
/// and sends nothing to the client, whose connection stays open. To answer
/// the client yourself, take `Result<P, P::Rejection>` instead of `P`.
///
/// Implemented for [`Json<T>`] (a JSON text or binary message read into any
/// `T: Deserialize`), for `String` (a UTF-8 message) and for
/// `Result<P, P::Rejection>`. Implement it to read messages your own way:
///
/// ```
/// use nitric_runtime::websocket::{FromMessage, MessageContext};
///
/// /// `"/nick ada"` and the like: a command word and its argument.
/// struct Command {
///     name: String,
///     argument: String,
/// }
///
/// impl FromMessage for Command {
///     type Rejection = String;
///
///     fn from_message(ctx: &MessageContext) -> Result<Self, String> {
///         let text = ctx.text().map_err(|error| error.to_string())?;
///         let command = text.strip_prefix('/').ok_or("a command starts with `/`")?;
///         let (name, argument) = command.split_once(' ').unwrap_or((command, ""));
///         Ok(Command { name: name.to_owned(), argument: argument.to_owned() })
///     }
/// }
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn command(ctx: MessageContext, command: Command) -> Result<(), nitric_runtime::Error> {
///     let reply = format!("{} {}", command.name, command.argument);
///     ctx.socket().send(ctx.connection_id(), reply).await
/// }
/// # fn main() {}
/// ```
///
/// Only message handlers take a payload, after the context:
///
/// ```compile_fail
/// use nitric_runtime::websocket::{ConnectContext, Json};
///
/// // error: a connect handler's second parameter is a guard
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext, Json(hello): Json<String>) {}
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a websocket message",
    label = "a message handler's second parameter must implement `FromMessage`",
    note = "take `Json<T>` for a JSON message read into a `T: serde::Deserialize`, `String` for text, or `Result<Json<T>, PayloadError>` to handle a message that does not fit; or implement `nitric_runtime::websocket::FromMessage` for `{Self}`"
)]
pub trait FromMessage: Sized {
    /// Why a message does not fit; the runtime logs it, or hands it to a
    /// handler taking `Result<Self, Self::Rejection>`.
    type Rejection: Into<BoxError>;

    /// Reads the parameter from the message.
    ///
    /// ```
    /// use nitric_runtime::websocket::{FromMessage, MessageContext};
    ///
    /// /// A message's size, whatever it holds.
    /// struct Size(usize);
    ///
    /// impl FromMessage for Size {
    ///     type Rejection = std::convert::Infallible;
    ///
    ///     fn from_message(ctx: &MessageContext) -> Result<Self, Self::Rejection> {
    ///         Ok(Size(ctx.body().len()))
    ///     }
    /// }
    ///
    /// #[nitric_runtime::websocket("public", on = "message")]
    /// async fn measure(ctx: MessageContext, Size(bytes): Size) -> Result<(), nitric_runtime::Error> {
    ///     ctx.socket().send(ctx.connection_id(), format!("{bytes} bytes")).await
    /// }
    /// # fn main() {}
    /// ```
    fn from_message(ctx: &MessageContext) -> Result<Self, Self::Rejection>;

    /// What a generated adapter calls: [`from_message`](Self::from_message),
    /// its rejection marked so the dispatcher logs that the handler did not
    /// run. Generated code names no associated type, so a type without this
    /// trait gets one error, on the parameter.
    #[doc(hidden)]
    fn __read_for_handler(ctx: &MessageContext) -> Result<Self, BoxError> {
        Self::from_message(ctx).map_err(MessageNotRead::boxed)
    }
}

/// A JSON value of type `T`: as a handler parameter, the message read as
/// JSON; to send, any `T: Serialize` (it serializes as `T` does).
///
/// Destructure it in the signature, or use it through `Deref`:
///
/// ```
/// use nitric_runtime::websocket::{Json, MessageContext};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Chat {
///     text: String,
/// }
///
/// #[derive(Serialize)]
/// struct Said<'a> {
///     from: &'a str,
///     text: String,
/// }
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn chat(ctx: MessageContext, Json(chat): Json<Chat>) -> Result<(), nitric_runtime::Error> {
///     let said = Json(Said { from: ctx.connection_id(), text: chat.text });
///     ctx.socket().send_json(ctx.connection_id(), &said).await
/// }
/// # fn main() {}
/// ```
///
/// A message that is not JSON, or not the shape of `T`, does not run the
/// handler (see [`FromMessage`]); [`PayloadError`] says what is wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The value.
    ///
    /// ```
    /// use nitric_runtime::websocket::Json;
    ///
    /// assert_eq!(Json(vec![1, 2]).into_inner(), vec![1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> Json<T> {
    /// Reads `bytes` as one JSON value of type `T`, as a message handler's
    /// `Json<T>` parameter is read.
    ///
    /// ```
    /// use nitric_runtime::websocket::Json;
    ///
    /// let Json(numbers) = Json::<Vec<u32>>::from_bytes(b"[1, 2]").unwrap();
    /// assert_eq!(numbers, [1, 2]);
    /// assert!(Json::<Vec<u32>>::from_bytes(b"[1, -2]").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PayloadError> {
        read_json(bytes).map(Json)
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<T: DeserializeOwned> FromMessage for Json<T> {
    type Rejection = PayloadError;

    fn from_message(ctx: &MessageContext) -> Result<Self, PayloadError> {
        Self::from_bytes(ctx.body())
    }
}

/// Reads `body` as one JSON value of type `T`, naming the field at fault.
fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let not_json = |path: Option<String>, error: serde_json::Error| PayloadError {
        kind: PayloadKind::Json,
        expected: std::any::type_name::<T>(),
        field: path,
        reason: error.to_string(),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let field = (field != ".").then_some(field);
        not_json(field, error.into_inner())
    })?;
    deserializer.end().map_err(|error| not_json(None, error))?;
    Ok(value)
}

impl FromMessage for String {
    type Rejection = PayloadError;

    fn from_message(ctx: &MessageContext) -> Result<Self, PayloadError> {
        std::str::from_utf8(ctx.body())
            .map(str::to_owned)
            .map_err(|error| PayloadError {
                kind: PayloadKind::Text,
                expected: "UTF-8 text",
                field: None,
                reason: error.to_string(),
            })
    }
}

/// The handler runs whether or not the message fits, and decides.
///
/// ```
/// use nitric_runtime::websocket::{Json, MessageContext, PayloadError};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Move {
///     x: u8,
///     y: u8,
/// }
///
/// #[nitric_runtime::websocket("game", on = "message")]
/// async fn play(ctx: MessageContext, played: Result<Json<Move>, PayloadError>) -> Result<(), nitric_runtime::Error> {
///     let reply = match played {
///         Ok(Json(Move { x, y })) => format!("played {x},{y}"),
///         Err(error) => format!("not a move: {error}"),
///     };
///     ctx.socket().send(ctx.connection_id(), reply).await
/// }
/// # fn main() {}
/// ```
impl<P: FromMessage> FromMessage for Result<P, P::Rejection> {
    type Rejection = Infallible;

    fn from_message(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(P::from_message(ctx))
    }
}

/// A message that does not fit the handler's [`Json<T>`] or `String`
/// parameter: not JSON, not of `T`'s shape, or not UTF-8.
///
/// Its message names the expected type, the field at fault when there is
/// one, and serde's reason with the line and column:
///
/// ```
/// use nitric_runtime::websocket::Json;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize)]
/// struct Chat {
///     text: String,
/// }
///
/// let error = Json::<Chat>::from_bytes(br#"{"text": 5}"#).unwrap_err();
/// assert_eq!(error.field(), Some("text"));
/// assert!(error.expected().ends_with("Chat"));
/// let message = error.to_string();
/// assert!(message.starts_with("the message is not a JSON `"), "{message}");
/// assert!(message.contains("Chat`: at `text`: "), "{message}");
/// assert!(message.ends_with(error.reason()), "{message}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    kind: PayloadKind,
    expected: &'static str,
    field: Option<String>,
    reason: String,
}

/// What the message was to be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PayloadKind {
    /// JSON, for `Json<T>`.
    Json,
    /// UTF-8 text, for `String`.
    Text,
}

impl PayloadError {
    /// The type the message was to be read as (`"UTF-8 text"` for `String`).
    ///
    /// ```
    /// use nitric_runtime::websocket::Json;
    ///
    /// let error = Json::<Vec<u32>>::from_bytes(b"{}").unwrap_err();
    /// assert!(error.expected().ends_with("Vec<u32>"), "{}", error.expected());
    /// ```
    pub fn expected(&self) -> &str {
        self.expected
    }

    /// The field at fault, as a path like `items[2].id`, when the message
    /// is JSON but a field does not fit.
    ///
    /// ```
    /// use nitric_runtime::websocket::Json;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Item {
    ///     id: u32,
    /// }
    ///
    /// let first_id = |bytes: &[u8]| Json::<Vec<Item>>::from_bytes(bytes).map(|Json(items)| items[0].id);
    /// assert_eq!(first_id(br#"[{"id": 1}]"#).unwrap(), 1);
    /// let error = first_id(br#"[{"id": 1}, {"id": "two"}]"#).unwrap_err();
    /// assert_eq!(error.field(), Some("[1].id"));
    /// assert_eq!(first_id(b"not json").unwrap_err().field(), None);
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Serde's or UTF-8's reason, with the line and column for JSON.
    ///
    /// ```
    /// use nitric_runtime::websocket::Json;
    ///
    /// let error = Json::<u8>::from_bytes(b"300").unwrap_err();
    /// assert!(error.reason().contains("line 1 column"), "{}", error.reason());
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PayloadKind::Text => write!(f, "the message is not UTF-8 text: {}", self.reason),
            PayloadKind::Json => {
                write!(f, "the message is not a JSON `{}`: ", self.expected)?;
                if let Some(field) = &self.field {
                    write!(f, "at `{field}`: ")?;
                }
                f.write_str(&self.reason)
            }
        }
    }
}

impl std::error::Error for PayloadError {}

/// A message handler's payload parameter could not be read, so the handler
/// did not run; generated adapters return it, and the dispatcher logs it.
#[derive(Debug)]
pub(crate) struct MessageNotRead(BoxError);

impl MessageNotRead {
    /// Wraps a [`FromMessage::Rejection`].
    pub(crate) fn boxed(rejection: impl Into<BoxError>) -> BoxError {
        Box::new(Self(rejection.into()))
    }
}

impl fmt::Display for MessageNotRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for MessageNotRead {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Chat {
        text: String,
        #[serde(default)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Tag {
        id: u32,
    }

    #[test]
    fn reads_json_of_the_right_shape() {
        let chat: Chat = read_json(br#"{"text": "hi", "tags": [{"id": 1}]}"#).unwrap();
        assert_eq!(chat.text, "hi");
        assert_eq!(chat.tags, vec![Tag { id: 1 }]);
    }

    #[test]
    fn names_the_field_at_fault_with_line_and_column() {
        let error = read_json::<Chat>(br#"{"text": "hi", "tags": [{"id": "one"}]}"#).unwrap_err();
        assert_eq!(error.field(), Some("tags[0].id"));
        assert!(error.expected().ends_with("Chat"), "{}", error.expected());
        let message = error.to_string();
        assert!(
            message.contains(
                "at `tags[0].id`: invalid type: string \"one\", expected u32 at line 1 column 36"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_missing_field_or_bad_syntax_has_no_path() {
        let error = read_json::<Chat>(b"{}").unwrap_err();
        assert_eq!(error.field(), None);
        assert_eq!(error.reason(), "missing field `text` at line 1 column 2");
        let error = read_json::<Chat>(b"hello").unwrap_err();
        assert_eq!(error.field(), None);
        assert!(
            error
                .reason()
                .starts_with("expected value at line 1 column 1"),
            "{error}"
        );
        let error = read_json::<Chat>(br#"{"text": "a"} {}"#).unwrap_err();
        assert!(error.reason().starts_with("trailing characters"), "{error}");
    }

    #[test]
    fn the_marker_says_what_it_wraps() {
        let error = MessageNotRead::boxed("no");
        assert_eq!(error.to_string(), "no");
        assert!(error.downcast_ref::<MessageNotRead>().is_some());
    }
}
