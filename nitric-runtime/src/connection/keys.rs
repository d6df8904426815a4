//! Where rooms and connection state keep their data: one key per fact, so
//! concurrent instances never read, change and write back a shared value.
//!
//! | key | value | written by |
//! |---|---|---|
//! | `state:{socket}:{connection}` | the connection's state | `ConnectionState::set` |
//! | `room:{socket}:{room}:{connection}` | the membership | `Rooms::join` |
//! | `joined:{socket}:{connection}:{room}` | the same membership | `Rooms::join` |
//!
//! Listing `room:{socket}:{room}:` gives a room's members, and
//! `joined:{socket}:{connection}:` the rooms a connection is in (what a
//! disconnect cleans up). The socket is lowercased first: the membrane
//! matches socket names regardless of case, while connection ids and room
//! names keep theirs.
//!
//! Keys must be valid on every Nitric backend: a Firestore document ID on
//! GCP (no `/`; `.`, `..` and `__name__` reserved), an Azure Table `RowKey`
//! (no `/ \ # ?` or control characters), a DynamoDB key on AWS. So parts
//! are joined with `:`, and every byte of a part but ASCII letters, digits,
//! `-`, `_` and `.` is escaped as `~XX` (two upper-case hex digits), `~`
//! itself included. A part thus never holds a `:`, so two keys cannot
//! meet, and every prefix ends with `:`, so room `a` never lists the
//! members of room `ab`. Every key starts with a letter, so none is
//! reserved.

use nitric_protocol::names::socket_key;

const STATE: &str = "state";
const ROOM: &str = "room";
const JOINED: &str = "joined";
const SEPARATOR: char = ':';
const ESCAPE: u8 = b'~';

/// The longest room name, in bytes: keys are limited in size (a Firestore
/// document ID to 1,500 bytes), an escaped byte takes three, and clients
/// may choose room names.
pub(crate) const MAX_ROOM_NAME: usize = 256;

/// `Ok` for a room name that fits in a key, else why not.
pub(super) fn check_room(room: &str) -> Result<(), String> {
    check_name("room name", room)
}

/// `Ok` for a name (`what`: "room name", "user id") that fits in a key,
/// else why not; the limit is [`MAX_ROOM_NAME`] bytes.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.len() > MAX_ROOM_NAME {
        return Err(format!(
            "a {what} is at most {MAX_ROOM_NAME} bytes, and this one is {}",
            name.len()
        ));
    }
    Ok(())
}

/// The key of a connection's state.
pub(super) fn state(socket: &str, connection_id: &str) -> String {
    format!(
        "{STATE}{SEPARATOR}{}{SEPARATOR}{}",
        socket_part(socket),
        encode(connection_id)
    )
}

/// The key saying that `connection_id` is in `room`, listed under
/// [`members_prefix`].
pub(super) fn member(socket: &str, room: &str, connection_id: &str) -> String {
    format!("{}{}", members_prefix(socket, room), encode(connection_id))
}

/// The prefix of a room's [`member`] keys.
pub(super) fn members_prefix(socket: &str, room: &str) -> String {
    format!(
        "{ROOM}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}",
        socket_part(socket),
        encode(room)
    )
}

/// The key saying that `connection_id` is in `room`, listed under
/// [`joined_prefix`].
pub(super) fn joined(socket: &str, connection_id: &str, room: &str) -> String {
    format!("{}{}", joined_prefix(socket, connection_id), encode(room))
}

/// The prefix of a connection's [`joined`] keys.
pub(super) fn joined_prefix(socket: &str, connection_id: &str) -> String {
    format!(
        "{JOINED}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}",
        socket_part(socket),
        encode(connection_id)
    )
}

/// A key of `kind` made of `parts`, each escaped, joined with `:`: the
/// keys of users, tickets, presence and history (see their modules).
pub(super) fn compose(kind: &str, parts: &[&str]) -> String {
    let mut key = kind.to_owned();
    for part in parts {
        key.push(SEPARATOR);
        key.push_str(&encode(part));
    }
    key
}

/// [`compose`] with the socket as its first part, lowercased as the
/// membrane matches it.
pub(super) fn of_socket(kind: &str, socket: &str, parts: &[&str]) -> String {
    let socket = socket_key(socket);
    let mut all = vec![socket.as_str()];
    all.extend_from_slice(parts);
    compose(kind, &all)
}

/// The prefix listing every [`of_socket`] key of `kind` whose parts start
/// with `parts`.
pub(super) fn socket_prefix(kind: &str, socket: &str, parts: &[&str]) -> String {
    let mut prefix = of_socket(kind, socket, parts);
    prefix.push(SEPARATOR);
    prefix
}

/// What a key listed under a prefix is to the lister.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Listed {
    /// The key's last part, decoded: a member's connection id or a joined
    /// room.
    Part(String),
    /// Not under the prefix at all: some stores list keys past it (Azure's
    /// lists every key from the prefix on), so it is skipped.
    Outside,
    /// Under the prefix, but not a key this module wrote.
    Foreign,
}

/// Reads a key listed under `prefix`.
pub(super) fn last_part(key: &str, prefix: &str) -> Listed {
    let Some(part) = key.strip_prefix(prefix) else {
        return Listed::Outside;
    };
    if part.contains(SEPARATOR) {
        return Listed::Foreign;
    }
    decode(part).map_or(Listed::Foreign, Listed::Part)
}

/// The decoded parts of a key after `prefix`, split at `:`; `None` for a
/// key outside the prefix or one this module did not write.
pub(super) fn parts_after(key: &str, prefix: &str) -> Option<Vec<String>> {
    key.strip_prefix(prefix)?
        .split(SEPARATOR)
        .map(decode)
        .collect()
}

fn socket_part(socket: &str) -> String {
    encode(&socket_key(socket))
}

/// Keeps ASCII letters, digits, `-`, `_` and `.`, and escapes every other
/// byte as `~XX`.
fn encode(part: &str) -> String {
    let mut encoded = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            encoded.push(char::from(byte));
        } else {
            encoded.push(char::from(ESCAPE));
            encoded.push_str(&format!("{byte:02X}"));
        }
    }
    encoded
}

/// Reverses [`encode`]; `None` for a malformed escape, a byte `encode`
/// would have escaped, or bytes that are not UTF-8.
fn decode(part: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(part.len());
    let mut rest = part.as_bytes();
    while let [first, tail @ ..] = rest {
        if *first == ESCAPE {
            let hex = tail.get(..2)?;
            if !hex
                .iter()
                .all(|digit| matches!(digit, b'0'..=b'9' | b'A'..=b'F'))
            {
                return None;
            }
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else if first.is_ascii_alphanumeric() || matches!(first, b'-' | b'_' | b'.') {
            bytes.push(*first);
            rest = tail;
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names a client could pick, the awkward ones especially.
    const NAMES: &[&str] = &[
        "lobby",
        "",
        ".",
        "..",
        "__x__",
        "a/b",
        "a\\b",
        "#1",
        "why?",
        "100%",
        "~7E",
        "a:b",
        "café ☕",
        "tab\there",
        "nul\0",
        "line\nbreak",
        "\u{7f}",
        "-_.~",
        "%2F",
    ];

    fn every_key() -> Vec<String> {
        let mut keys = Vec::new();
        for name in NAMES {
            for other in NAMES {
                keys.push(state(name, other));
                keys.push(member(name, other, name));
                keys.push(members_prefix(name, other));
                keys.push(joined(other, name, other));
                keys.push(joined_prefix(name, other));
            }
        }
        keys
    }

    #[test]
    fn keys_are_readable_for_plain_names() {
        assert_eq!(state("public", "c1"), "state:public:c1");
        assert_eq!(member("public", "lobby", "c1"), "room:public:lobby:c1");
        assert_eq!(joined("public", "c1", "lobby"), "joined:public:c1:lobby");
    }

    #[test]
    fn unusual_characters_are_escaped() {
        assert_eq!(member("public", "a/b", "x%y"), "room:public:a~2Fb:x~25y");
        assert_eq!(
            joined("public", "id=", "café ☕"),
            "joined:public:id~3D:caf~C3~A9~20~E2~98~95"
        );
        assert_eq!(member("public", "~", "a:b"), "room:public:~7E:a~3Ab");
    }

    #[test]
    fn no_key_holds_what_a_backend_forbids() {
        for key in every_key() {
            assert!(
                key.bytes().all(|byte| byte.is_ascii_graphic()),
                "{key:?} holds a control, space or non-ASCII character"
            );
            for forbidden in ['/', '\\', '#', '?', '%'] {
                assert!(!key.contains(forbidden), "{key:?} holds {forbidden:?}");
            }
            assert!(!matches!(key.as_str(), "." | ".."), "{key:?}");
            assert!(!key.starts_with("__"), "{key:?} looks reserved");
        }
    }

    #[test]
    fn names_that_would_collide_unescaped_do_not() {
        // Room "a:b" with connection "c", and room "a" with connection "b:c".
        assert_ne!(member("s", "a:b", "c"), member("s", "a", "b:c"));
        // A room is never listed with another whose name it starts.
        for (room, other) in [("a", "ab"), ("a", "a:b"), ("a", "a~3Ab")] {
            let prefix = members_prefix("s", room);
            assert!(!member("s", other, "c").starts_with(&prefix), "{other}");
            assert!(!members_prefix("s", other).starts_with(&prefix), "{other}");
        }
        assert!(!joined("s", "c", "x").starts_with(&joined_prefix("s", "c:x")));
        assert!(!joined("s", "cd", "x").starts_with(&joined_prefix("s", "c")));
        // An escape is not the character it stands for.
        assert_ne!(member("s", "~3A", "c"), member("s", ":", "c"));
    }

    #[test]
    fn last_parts_decode_back() {
        for name in NAMES {
            for room in NAMES {
                let prefix = members_prefix("public", room);
                let key = member("public", room, name);
                assert_eq!(
                    last_part(&key, &prefix),
                    Listed::Part((*name).to_owned()),
                    "{key}"
                );
                let prefix = joined_prefix("public", name);
                let key = joined("public", name, room);
                assert_eq!(
                    last_part(&key, &prefix),
                    Listed::Part((*room).to_owned()),
                    "{key}"
                );
            }
        }
    }

    #[test]
    fn keys_past_the_prefix_are_outside_and_odd_ones_foreign() {
        let prefix = members_prefix("public", "lobby");
        // As Azure lists them: every key from the prefix on.
        assert_eq!(last_part("room:public:lobbz:c1", &prefix), Listed::Outside);
        assert_eq!(last_part("state:public:c1", &prefix), Listed::Outside);
        assert_eq!(last_part("room:public:lobby:a:b", &prefix), Listed::Foreign);
        assert_eq!(last_part("room:public:lobby:~zz", &prefix), Listed::Foreign);
        assert_eq!(last_part("room:public:lobby:~2f", &prefix), Listed::Foreign);
        assert_eq!(last_part("room:public:lobby:~C3", &prefix), Listed::Foreign);
        assert_eq!(last_part("room:public:lobby:~", &prefix), Listed::Foreign);
        assert_eq!(last_part("room:public:lobby:a/b", &prefix), Listed::Foreign);
    }

    #[test]
    fn room_names_are_capped() {
        assert!(check_room(&"a".repeat(MAX_ROOM_NAME)).is_ok());
        let error = check_room(&"a".repeat(MAX_ROOM_NAME + 1)).unwrap_err();
        assert!(error.contains("at most 256 bytes"), "{error}");
        // The longest room, all escaped, with a long id, fits Firestore.
        let key = member(
            &"s".repeat(64),
            &"☕".repeat(MAX_ROOM_NAME / 3),
            &"c".repeat(128),
        );
        assert!(key.len() < 1_500, "{}", key.len());
    }

    #[test]
    fn composed_keys_list_under_their_prefix_only() {
        assert_eq!(
            of_socket("user", "Public", &["ada", "c1"]),
            "user:public:ada:c1"
        );
        let prefix = socket_prefix("user", "public", &["ada"]);
        assert_eq!(prefix, "user:public:ada:");
        let key = of_socket("user", "public", &["ada", "c:1"]);
        assert_eq!(last_part(&key, &prefix), Listed::Part("c:1".to_owned()));
        assert!(!of_socket("user", "public", &["adam", "c1"]).starts_with(&prefix));
        assert_eq!(compose("ticket", &["a/b"]), "ticket:a~2Fb");
        let key = of_socket("presence", "public", &["a:b", "c1"]);
        let parts = parts_after(&key, &socket_prefix("presence", "public", &[]));
        assert_eq!(parts, Some(vec!["a:b".to_owned(), "c1".to_owned()]));
        assert_eq!(parts_after("presence:public:~zz", "presence:public:"), None);
    }

    #[test]
    fn socket_names_match_regardless_of_case() {
        assert_eq!(state("Public", "c1"), state("public", "c1"));
        assert_ne!(state("public", "C1"), state("public", "c1"));
    }
}
