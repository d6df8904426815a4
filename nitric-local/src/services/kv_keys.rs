//! What a key/value key may be: the cloud's rules, checked locally so that
//! a key the deployed application would have refused fails here first.
//!
//! These apps deploy to AWS, where Nitric keeps each store in a DynamoDB
//! table whose partition key (`_pk`) holds the key and whose sort key
//! (`_sk`) holds the store's name followed by `#` (the AWS provider's
//! `cloud/aws/runtime/keyvalue/dynamodb.go` in nitrictech/nitric). So a key
//! follows DynamoDB's rules for a partition key value ("Constraints in
//! Amazon DynamoDB", partition keys and sort keys):
//!
//! - at least 1 byte: an empty key is refused (Nitric's own providers
//!   refuse it too, before DynamoDB sees it);
//! - at most [`MAX_KEY_BYTES`] bytes of UTF-8 (1,024 is the sort key's
//!   limit, which bounds the store's name, not the key).
//!
//! No character is excluded: DynamoDB strings are any UTF-8 text, NUL and
//! other control characters included, and the local database keeps and
//! orders such keys like any other. Text that is not UTF-8 never gets this
//! far: protobuf refuses it in a `string` field.
//!
//! A `ScanKeys` prefix only has the size rule: an empty prefix lists every
//! key, and a longer one than any key can be is surely a mistake.

use std::fmt;

use tonic::Status;

/// The most bytes of a key: DynamoDB's limit for a partition key value.
pub(super) const MAX_KEY_BYTES: usize = 2048;

/// How much of an offending key or prefix an error message quotes.
const QUOTED_CHARS: usize = 40;

/// Refuses a `key` of `store` that breaks a rule, with INVALID_ARGUMENT
/// naming the rule, the store and (the start of) the key; `field` is where
/// the request holds the key, such as `KvStoreSetValueRequest.ref.key`.
pub(super) fn check_key(field: &str, store: &str, key: &str) -> Result<(), Status> {
    if key.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field} is empty (store \"{store}\"): a key needs at least 1 byte, \
             as a DynamoDB partition key does"
        )));
    }
    check_size(field, "key", store, key)
}

/// Refuses a `ScanKeys` `prefix` longer than any key can be.
pub(super) fn check_prefix(field: &str, store: &str, prefix: &str) -> Result<(), Status> {
    check_size(field, "prefix", store, prefix)
}

fn check_size(field: &str, what: &str, store: &str, text: &str) -> Result<(), Status> {
    let bytes = text.len();
    if bytes <= MAX_KEY_BYTES {
        return Ok(());
    }
    Err(Status::invalid_argument(format!(
        "{field} is {bytes} bytes, over the {MAX_KEY_BYTES}-byte limit of a key \
         (a DynamoDB partition key value) (store \"{store}\", {what} {})",
        Quoted(text)
    )))
}

/// The start of a long key in quotes, escaped as Rust escapes a string (a
/// NUL shows as `\0`), followed by `…` when cut.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(QUOTED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn keys_from_1_to_2048_bytes_of_any_text_pass() {
        for key in ["k", "a\0b", "\u{1}\u{7f}\u{fffd}", &"é".repeat(1024)] {
            check_key("f", "s", key).unwrap();
        }
        check_prefix("f", "s", "").unwrap();
        check_prefix("f", "s", &"p".repeat(MAX_KEY_BYTES)).unwrap();
    }

    #[test]
    fn an_empty_key_names_the_rule_and_the_store() {
        let status = check_key("Request.ref.key", "profiles", "").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "Request.ref.key is empty (store \"profiles\"): a key needs at least 1 byte, \
             as a DynamoDB partition key does"
        );
    }

    #[test]
    fn an_oversized_key_is_quoted_cut_and_escaped() {
        // 2,049 bytes: the multi-byte character counts as 2.
        let key = format!("\0{}é", "x".repeat(2046));
        let status = check_key("Request.ref.key", "profiles", &key).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            format!(
                "Request.ref.key is 2049 bytes, over the 2048-byte limit of a key \
                 (a DynamoDB partition key value) (store \"profiles\", key \"\\0{}…\")",
                "x".repeat(39)
            )
        );
        let status = check_prefix("Request.prefix", "s", &key).unwrap_err();
        assert!(status.message().contains(", prefix \"\\0x"), "{status:?}");
    }
}
