//! Error collection: every mistake in one attribute is reported in one build.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// Gathers errors while parsing so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// `Ok(value)` when nothing was pushed, else every error combined.
    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// The item unchanged plus the errors, so IDEs and the rest of the crate keep
/// working while the attribute is wrong.
pub(crate) fn item_with_errors(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut tokens = item;
    tokens.extend(error.to_compile_error());
    tokens
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(3) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// "expected one of `a`, `b`" plus a "did you mean" when a candidate is close.
pub(crate) fn expected_one_of(word: &str, candidates: &[&str], quote: &str) -> String {
    let list = candidates
        .iter()
        .map(|candidate| format!("{quote}{candidate}{quote}"))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(word, candidates) {
        Some(close) => format!("expected one of {list}; did you mean {quote}{close}{quote}?"),
        None => format!("expected one of {list}"),
    }
}

/// Every message of a combined error, joined with ` | `, for tests.
#[cfg(test)]
pub(crate) fn joined(error: syn::Error) -> String {
    error
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let events = ["connect", "disconnect", "message"];
        assert_eq!(nearest("mesage", &events), Some("message"));
        assert_eq!(nearest("conect", &events), Some("connect"));
        assert_eq!(nearest("banana", &events), None);
    }

    #[test]
    fn lists_candidates_with_a_suggestion() {
        assert_eq!(
            expected_one_of("gte", &["get", "set", "delete"], "`"),
            "expected one of `get`, `set`, `delete`; did you mean `get`?"
        );
    }

    /// Properties over generated inputs; see `crate::arbitrary`.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn suggestions_never_panic_and_prefer_an_exact_match(
                word in any::<String>(),
                candidates in prop::collection::vec(any::<String>(), 0..4),
            ) {
                let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
                let _ = expected_one_of(&word, &candidates, "`");
                if candidates.contains(&word.as_str()) {
                    prop_assert_eq!(nearest(&word, &candidates), Some(word.as_str()));
                }
            }
        }
    }
}
