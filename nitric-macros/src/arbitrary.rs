//! Generators and checks shared by the property tests of the argument
//! parsers (each parser's `tests::properties` module).
//!
//! Inputs are generated as source text and lexed, as the compiler would hand
//! them over, so every token carries a real line and column
//! (`proc-macro2`'s `span-locations`, a dev-dependency feature) and a test
//! can tell which token an error points at.
//!
//! Each property runs `PROPTEST_CASES` cases (256 by default); for a longer
//! search: `PROPTEST_CASES=100000 cargo test -p nitric-macros --lib properties`.

use proc_macro2::{LineColumn, Literal, TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::sample::select;

/// The longest valid name, as `resource_name` defines it.
pub(crate) const MAX_NAME: usize = 63;

/// The rule for resource names, written again independently of
/// `resource_name::problem` to check it against.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= MAX_NAME
}

/// Any valid resource name.
pub(crate) fn valid_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,62}"
}

/// Names that break the rule in each way it can be broken, plus arbitrary
/// strings that happen to break it.
pub(crate) fn invalid_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[^a-zA-Z][a-zA-Z0-9_-]{0,8}",
        "[a-zA-Z][a-zA-Z0-9_-]{0,6}[^a-zA-Z0-9_-][a-zA-Z0-9_-]{0,6}",
        "[a-zA-Z][a-zA-Z0-9_-]{63,90}",
        any::<String>(),
    ]
    .prop_filter("a valid name", |name| !is_valid_name(name))
}

/// `value` written as a Rust string literal.
pub(crate) fn string_literal(value: &str) -> String {
    Literal::string(value).to_string()
}

/// Lexes `source` as the compiler would; `None` if it is not a token
/// sequence at all (an unbalanced bracket, an unterminated literal).
pub(crate) fn lex(source: &str) -> Option<TokenStream> {
    source.parse().ok()
}

/// Lexes source text the test wrote itself.
pub(crate) fn tokens(source: &str) -> TokenStream {
    lex(source).unwrap_or_else(|| panic!("the test wrote unlexable source: {source}"))
}

/// Where a token or an error starts and ends.
pub(crate) type Place = (LineColumn, LineColumn);

/// Where the `index`th top-level token of `tokens` is.
pub(crate) fn place_of_token(tokens: &TokenStream, index: usize) -> Place {
    let token = tokens
        .clone()
        .into_iter()
        .nth(index)
        .expect("the token is there");
    (token.span().start(), token.span().end())
}

/// Where the first top-level token that is a string literal with `value`
/// is, if any.
pub(crate) fn place_of_string(tokens: &TokenStream, value: &str) -> Option<Place> {
    let written = string_literal(value);
    tokens.clone().into_iter().find_map(|token| match &token {
        TokenTree::Literal(literal) if literal.to_string() == written => {
            Some((token.span().start(), token.span().end()))
        }
        _ => None,
    })
}

/// Each error of a combined `syn::Error`: where it points, and its message.
pub(crate) fn placed_errors(error: syn::Error) -> Vec<(Place, String)> {
    error
        .into_iter()
        .map(|error| {
            let span = error.span();
            ((span.start(), span.end()), error.to_string())
        })
        .collect()
}

/// Words the parsers know, and some they nearly know.
const WORDS: &[&str] = &[
    "on",
    "crate",
    "allow",
    "get",
    "set",
    "delete",
    "publish",
    "connect",
    "disconnect",
    "message",
    "onn",
    "alow",
    "self",
    "super",
    "async",
    "fn",
    "static",
    "mut",
    "true",
    "_",
];

/// Punctuation, alone or as the compiler glues it.
const PUNCTUATION: &[&str] = &[
    "=", ",", ":", "::", ";", "#", "-", "!", "&", ".", "..", "=>", "<", ">", "/", "@", "$", "?",
    "*", "+", "|", "^", "%", "~",
];

/// One token, written as source.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|value| string_literal(&value)),
        valid_name().prop_map(|value| string_literal(&value)),
        select(WORDS).prop_map(string_literal),
        select(WORDS).prop_map(str::to_owned),
        select(PUNCTUATION).prop_map(str::to_owned),
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        any::<i64>().prop_map(|number| number.to_string()),
        any::<f32>()
            .prop_filter("finite", |number| number.is_finite())
            .prop_map(|number| format!("{number:?}")),
        any::<char>().prop_map(|c| Literal::character(c).to_string()),
        any::<Vec<u8>>().prop_map(|bytes| Literal::byte_string(&bytes).to_string()),
        "'[a-z]{1,5}",
    ]
}

/// Arbitrary token sequences: tokens and balanced groups of them, nested.
pub(crate) fn token_soup() -> impl Strategy<Value = String> {
    let tree = token().prop_recursive(3, 48, 6, |inner| {
        (
            select(&[("[", "]"), ("(", ")"), ("{", "}")][..]),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|((open, close), trees)| format!("{open}{}{close}", trees.join(" ")))
    });
    prop::collection::vec(tree, 0..10).prop_map(|trees| trees.join(" "))
}

/// A value an option might be given.
fn option_value() -> impl Strategy<Value = String> {
    prop_oneof![
        select(WORDS).prop_map(string_literal),
        any::<String>().prop_map(|value| string_literal(&value)),
        Just("\"::nitric_runtime\"".to_owned()),
        prop::collection::vec(select(WORDS), 0..4)
            .prop_map(|words| format!("[{}]", words.join(", "))),
        token_soup(),
    ]
}

/// Argument lists close to the real grammar: a name (valid, invalid or
/// missing), then `key = value` options (keys known or not, values right
/// or wrong), with commas mostly where they belong.
pub(crate) fn near_valid_args() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => valid_name().prop_map(|name| string_literal(&name)),
        1 => invalid_name().prop_map(|name| string_literal(&name)),
        1 => Just(String::new()),
    ];
    let option = (
        prop_oneof![select(WORDS).prop_map(str::to_owned), "[a-z]{1,6}"],
        prop::option::weighted(0.9, option_value()),
    )
        .prop_map(|(key, value)| match value {
            Some(value) => format!("{key} = {value}"),
            None => key,
        });
    (
        name,
        prop::collection::vec((option, prop::bool::weighted(0.9)), 0..5),
        any::<bool>(),
    )
        .prop_map(|(name, options, trailing_comma)| {
            let mut source = name;
            for (option, comma) in options {
                source.push_str(if comma { ", " } else { " " });
                source.push_str(&option);
            }
            if trailing_comma {
                source.push(',');
            }
            source
        })
}

/// Any argument list: near the grammar, or arbitrary tokens.
pub(crate) fn any_args() -> impl Strategy<Value = String> {
    prop_oneof![near_valid_args(), token_soup(), "\\PC{0,40}"]
}
