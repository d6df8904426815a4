//! Where rooms and connection state keep their data: one key per fact, so
//! concurrent instances never read, change and write back a shared value.
//!
//! | key | value | written by |
//! |---|---|---|
//! | `state/{socket}/{connection}` | the connection's state | `ConnectionState::set` |
//! | `room/{socket}/{room}/{connection}` | the membership | `Rooms::join` |
//! | `joined/{socket}/{connection}/{room}` | the same membership | `Rooms::join` |
//!
//! Listing `room/{socket}/{room}/` gives a room's members, and
//! `joined/{socket}/{connection}/` the rooms a connection is in (what a
//! disconnect cleans up). Each part is percent-encoded, so a `/` in a room
//! name or connection id cannot make two keys meet, and every prefix ends
//! with `/`, so room `a` never lists the members of room `ab`. The socket
//! is lowercased first: the membrane matches socket names regardless of
//! case, while connection ids and room names keep theirs.

use nitric_protocol::names::socket_key;

const STATE: &str = "state";
const ROOM: &str = "room";
const JOINED: &str = "joined";

/// The key of a connection's state.
pub(super) fn state(socket: &str, connection_id: &str) -> String {
    format!("{STATE}/{}/{}", socket_part(socket), encode(connection_id))
}

/// The key saying that `connection_id` is in `room`, listed under
/// [`members_prefix`].
pub(super) fn member(socket: &str, room: &str, connection_id: &str) -> String {
    format!("{}{}", members_prefix(socket, room), encode(connection_id))
}

/// The prefix of a room's [`member`] keys.
pub(super) fn members_prefix(socket: &str, room: &str) -> String {
    format!("{ROOM}/{}/{}/", socket_part(socket), encode(room))
}

/// The key saying that `connection_id` is in `room`, listed under
/// [`joined_prefix`].
pub(super) fn joined(socket: &str, connection_id: &str, room: &str) -> String {
    format!("{}{}", joined_prefix(socket, connection_id), encode(room))
}

/// The prefix of a connection's [`joined`] keys.
pub(super) fn joined_prefix(socket: &str, connection_id: &str) -> String {
    format!(
        "{JOINED}/{}/{}/",
        socket_part(socket),
        encode(connection_id)
    )
}

/// The last part of a key listed under `prefix`, decoded: a member's
/// connection id or a joined room. `None` for a key this module did not
/// write.
pub(super) fn last_part(key: &str, prefix: &str) -> Option<String> {
    let part = key.strip_prefix(prefix)?;
    if part.contains('/') {
        return None;
    }
    decode(part)
}

fn socket_part(socket: &str) -> String {
    encode(&socket_key(socket))
}

/// Percent-encodes every byte but ASCII letters, digits, `-`, `_`, `.` and
/// `~` (the unreserved characters of URLs), so parts never hold a `/` and
/// keys stay plain ASCII in any store.
fn encode(part: &str) -> String {
    let mut encoded = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Reverses [`encode`]; `None` for a malformed escape or bytes that are not
/// UTF-8.
fn decode(part: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(part.len());
    let mut rest = part.as_bytes();
    while let [first, tail @ ..] = rest {
        if *first == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(*first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_readable_for_plain_names() {
        assert_eq!(state("public", "c1"), "state/public/c1");
        assert_eq!(member("public", "lobby", "c1"), "room/public/lobby/c1");
        assert_eq!(joined("public", "c1", "lobby"), "joined/public/c1/lobby");
    }

    #[test]
    fn slashes_and_unusual_characters_are_encoded() {
        assert_eq!(member("public", "a/b", "x%y"), "room/public/a%2Fb/x%25y");
        assert_eq!(
            joined("public", "id=", "café ☕"),
            "joined/public/id%3D/caf%C3%A9%20%E2%98%95"
        );
    }

    #[test]
    fn names_that_would_collide_unencoded_do_not() {
        // Room "a/b" with connection "c", and room "a" with connection "b/c".
        assert_ne!(member("s", "a/b", "c"), member("s", "a", "b/c"));
        // A room is never listed with another whose name it starts.
        assert!(!member("s", "ab", "c").starts_with(&members_prefix("s", "a")));
        assert!(!joined("s", "c", "x").starts_with(&joined_prefix("s", "c/x")));
    }

    #[test]
    fn last_parts_decode_back() {
        for name in ["lobby", "a/b", "100%", "café ☕", "", "%2F", "-_.~"] {
            let prefix = members_prefix("public", "room");
            let key = member("public", "room", name);
            assert_eq!(last_part(&key, &prefix).as_deref(), Some(name), "{key}");
        }
    }

    #[test]
    fn foreign_keys_are_not_read() {
        let prefix = members_prefix("public", "lobby");
        assert_eq!(last_part("room/public/lobby/a/b", &prefix), None);
        assert_eq!(last_part("room/public/lobby/%zz", &prefix), None);
        assert_eq!(last_part("room/public/lobby/%C3", &prefix), None);
        assert_eq!(last_part("state/public/c1", &prefix), None);
    }

    #[test]
    fn socket_names_match_regardless_of_case() {
        assert_eq!(state("Public", "c1"), state("public", "c1"));
        assert_ne!(state("public", "C1"), state("public", "c1"));
    }
}
