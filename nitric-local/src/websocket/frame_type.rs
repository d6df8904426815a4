//! Whether a message the application sends goes out as a text or a binary
//! frame.
//!
//! `SendMessage` carries bytes and nothing else, and a message event gives
//! the application bytes and nothing else, so an application cannot say
//! which frame type it means. Choosing text for every valid UTF-8 payload
//! breaks binary protocols: an echo of a binary message whose bytes happen
//! to be UTF-8 (or of an empty one) would come back as text, and a browser
//! would hand it to `onmessage` as a string instead of a `Blob`.
//!
//! The rule, the same for every payload including the empty one:
//!
//! - bytes that are not valid UTF-8 go out binary (a text frame must be
//!   UTF-8);
//! - otherwise they go out as the type of the last message the application
//!   received from that client: binary after a binary message, text after a
//!   text message;
//! - before the client sent anything, valid UTF-8 goes out as text.
//!
//! A connection's messages are delivered one at a time and the next is read
//! only once the application answered the previous one, so while a message
//! handler runs, "the last message received" is the one it handles: a reply
//! sent from the handler matches it, deterministically. A send from
//! elsewhere (a broadcast, a topic subscriber) follows whatever that client
//! sent last.

use axum::extract::ws::Message;

/// The type of a data message from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataType {
    Text,
    Binary,
}

/// The frame that carries `data` to a client whose last message delivered
/// to the application was of type `last_received` (`None` before its
/// first).
pub(super) fn frame_for(data: Vec<u8>, last_received: Option<DataType>) -> Message {
    if last_received == Some(DataType::Binary) {
        return Message::Binary(data.into());
    }
    match String::from_utf8(data) {
        Ok(text) => Message::Text(text.into()),
        Err(not_text) => Message::Binary(not_text.into_bytes().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_binary(data: &[u8], last_received: Option<DataType>) -> bool {
        match frame_for(data.to_vec(), last_received) {
            Message::Binary(bytes) => {
                assert_eq!(bytes, data);
                true
            }
            Message::Text(text) => {
                assert_eq!(text.as_bytes(), data);
                false
            }
            other => panic!("expected a data frame, got {other:?}"),
        }
    }

    #[test]
    fn utf8_follows_the_clients_last_message_and_the_rest_is_binary() {
        use DataType::{Binary, Text};
        for last in [None, Some(Text), Some(Binary)] {
            assert!(is_binary(&[0xff, 0xfe], last), "after {last:?}");
        }
        for utf8 in [&b""[..], b"hello", "héllo".as_bytes()] {
            assert!(!is_binary(utf8, None));
            assert!(!is_binary(utf8, Some(Text)));
            assert!(is_binary(utf8, Some(Binary)));
        }
    }
}
