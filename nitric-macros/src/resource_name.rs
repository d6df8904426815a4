//! Resource names: checked at compile time so a typo never reaches a cloud.

use syn::LitStr;

/// The longest name accepted; cloud providers cap resource names near here.
const MAX_LEN: usize = 63;

/// A validated resource name.
pub(crate) struct ResourceName {
    pub(crate) value: String,
}

impl ResourceName {
    /// Checks `literal` as the name of a `kind` ("socket", "key/value store").
    pub(crate) fn parse(literal: LitStr, kind: &str) -> syn::Result<Self> {
        let value = literal.value();
        if value.is_empty() {
            let message = format!("the {kind} name must not be empty");
            return Err(syn::Error::new(literal.span(), message));
        }
        match problem(&value) {
            Some(problem) => Err(syn::Error::new(
                literal.span(),
                format!(
                    "invalid {kind} name {value:?}: {problem}; use letters, digits, `-` and `_`, starting with a letter"
                ),
            )),
            None => Ok(Self { value }),
        }
    }
}

fn problem(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    // Names become cloud resource identifiers, which must start with a letter.
    if !first.is_ascii_alphabetic() {
        return Some(format!("it starts with {first:?}"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!("{bad:?} is not allowed"));
    }
    if name.len() > MAX_LEN {
        return Some(format!("it is longer than {MAX_LEN} characters"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn check(name: LitStr) -> Result<String, String> {
        ResourceName::parse(name, "socket")
            .map(|name| name.value)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn accepts_plain_names() {
        assert_eq!(check(parse_quote!("public")), Ok("public".into()));
        assert_eq!(check(parse_quote!("chat-room_2")), Ok("chat-room_2".into()));
    }

    #[test]
    fn refuses_bad_names_with_the_reason() {
        assert_eq!(
            check(parse_quote!("")),
            Err("the socket name must not be empty".into())
        );
        assert!(check(parse_quote!("9lives"))
            .unwrap_err()
            .contains("starts with '9'"));
        assert!(check(parse_quote!("my socket"))
            .unwrap_err()
            .contains("' ' is not allowed"));
        assert!(
            check(LitStr::new(&"a".repeat(64), proc_macro2::Span::call_site()))
                .unwrap_err()
                .contains("longer than 63")
        );
    }

    /// Properties over generated inputs; see `crate::arbitrary`.
    mod properties {
        use super::*;
        use crate::arbitrary::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_string_is_accepted_exactly_when_the_rule_allows_it(name in prop_oneof![
                any::<String>(),
                valid_name(),
                invalid_name(),
            ]) {
                let literal = LitStr::new(&name, proc_macro2::Span::call_site());
                match ResourceName::parse(literal, "socket") {
                    Ok(parsed) => {
                        prop_assert!(is_valid_name(&name), "{:?} was accepted", name);
                        prop_assert_eq!(parsed.value, name);
                    }
                    Err(error) => {
                        prop_assert!(!is_valid_name(&name), "{:?}: {}", name, error);
                        prop_assert!(error.to_string().contains("socket name"), "{}", error);
                    }
                }
            }

            #[test]
            fn the_error_points_at_the_literal(name in invalid_name()) {
                let tokens = tokens(&string_literal(&name));
                let literal: LitStr = syn::parse2(tokens.clone()).expect("a string literal");
                let error = ResourceName::parse(literal, "topic").err().expect("refused");
                let errors = placed_errors(error);
                prop_assert_eq!(errors.len(), 1);
                prop_assert_eq!(errors[0].0, place_of_token(&tokens, 0));
            }
        }
    }
}
