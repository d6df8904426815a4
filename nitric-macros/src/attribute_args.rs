//! Grammar shared by every attribute: a leading name literal, then
//! `key = value` options separated by commas.

use crate::diagnostics::{expected_one_of, nearest, Errors};
use crate::runtime_contract::RuntimePath;
use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{Ident, LitStr, Token};

/// The option every attribute accepts, for renamed runtime dependencies.
pub(crate) const CRATE: &str = "crate";

/// The option of handler attributes bounding how long one run may take.
pub(crate) const TIMEOUT: &str = "timeout";

/// A handler's time limit, from `timeout = "30s"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeout {
    pub(crate) duration: std::time::Duration,
}

impl Timeout {
    /// Reads a duration as `humantime` does, the same reader as the local
    /// membrane's settings: `"250ms"`, `"30s"`, `"5m"`, `"2 minutes"`,
    /// `"1m 30s"`. Zero is refused: a handler could never finish.
    pub(crate) fn parse(literal: &LitStr) -> syn::Result<Self> {
        let text = literal.value();
        let refused = |reason: String| {
            syn::Error::new(
                literal.span(),
                format!("{text:?} is not a timeout: {reason}; write a number and a unit, as in `timeout = \"30s\"`, \"500ms\" or \"2 minutes\""),
            )
        };
        match humantime::parse_duration(&text) {
            Ok(duration) if duration.is_zero() => Err(refused("it is zero".into())),
            Ok(duration) => Ok(Self { duration }),
            Err(error) => Err(refused(error.to_string())),
        }
    }
}

/// Parses `= "30s"` for `timeout`, recording a bad or duplicate value.
pub(crate) fn timeout_option(
    input: ParseStream,
    key: &Ident,
    timeout: &mut Option<Timeout>,
    errors: &mut Errors,
) -> syn::Result<()> {
    note_duplicate(timeout, key, errors);
    if let Some(literal) = string_value(input, "timeout = \"30s\"", errors)? {
        match Timeout::parse(&literal) {
            Ok(parsed) => *timeout = Some(parsed),
            Err(error) => errors.push(error),
        }
    }
    Ok(())
}

/// `.with_timeout(..)` on a handler registration, or nothing.
pub(crate) fn with_timeout(timeout: Option<Timeout>) -> proc_macro2::TokenStream {
    match timeout {
        Some(Timeout { duration }) => {
            let (secs, nanos) = (duration.as_secs(), duration.subsec_nanos());
            quote::quote!(.with_timeout(::core::time::Duration::new(#secs, #nanos)))
        }
        None => proc_macro2::TokenStream::new(),
    }
}

/// Parses the leading string literal naming the resource.
pub(crate) fn leading_name(input: ParseStream, kind: &str, usage: &str) -> syn::Result<LitStr> {
    if input.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("missing the {kind} name; write {usage}"),
        ));
    }
    if (input.peek(Ident) || input.peek(Token![crate])) && input.peek2(Token![=]) {
        return Err(syn::Error::new(
            input.span(),
            format!("missing the {kind} name: it comes before the options, as in {usage}"),
        ));
    }
    input.parse::<LitStr>().map_err(|error| {
        syn::Error::new(
            error.span(),
            format!("expected the {kind} name as a string literal, as in {usage}"),
        )
    })
}

/// Parses `, key` and returns the key, or `None` at the end of the input.
/// The key is an identifier or the `crate` keyword.
pub(crate) fn next_key(input: ParseStream) -> syn::Result<Option<Ident>> {
    if input.is_empty() {
        return Ok(None);
    }
    input.parse::<Token![,]>()?;
    if input.is_empty() {
        return Ok(None); // a trailing comma
    }
    if input.peek(Token![crate]) {
        let keyword: Token![crate] = input.parse()?;
        return Ok(Some(Ident::new(CRATE, keyword.span)));
    }
    input
        .parse::<Ident>()
        .map(Some)
        .map_err(|error| syn::Error::new(error.span(), "expected an option such as `on = ...`"))
}

/// Parses `= "value"`. Any other value is recorded as an error on it (with
/// `example`, the option written right) and skipped, giving `None`.
pub(crate) fn string_value(
    input: ParseStream,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        return input.parse().map(Some);
    }
    let value: syn::Expr = input.parse()?;
    errors.spanned(
        value,
        format!("expected a string literal, as in `{example}`"),
    );
    Ok(None)
}

/// Parses `= "path"` for `crate`, recording a duplicate as an error.
pub(crate) fn crate_option(
    input: ParseStream,
    key: &Ident,
    runtime: &mut Option<RuntimePath>,
    errors: &mut Errors,
) -> syn::Result<()> {
    if runtime.is_some() {
        errors.spanned(key, "duplicate `crate` option");
    }
    let Some(literal) = string_value(input, "crate = \"::nitric_runtime\"", errors)? else {
        return Ok(());
    };
    match RuntimePath::parse(&literal) {
        Ok(path) => *runtime = Some(path),
        Err(error) => errors.push(error),
    }
    Ok(())
}

/// Records an unknown option (with the nearest known one) and skips its value
/// so the options after it are still checked. Returns the option suggested,
/// so the caller need not also report that option as missing.
pub(crate) fn unknown_option(
    input: ParseStream,
    key: &Ident,
    known: &[&'static str],
    errors: &mut Errors,
) -> syn::Result<Option<&'static str>> {
    let word = key.to_string();
    let message = format!(
        "unknown option `{key}`: {}",
        expected_one_of(&word, known, "`")
    );
    errors.spanned(key, message);
    if input.parse::<Option<Token![=]>>()?.is_some() {
        input.parse::<syn::Expr>()?;
    }
    Ok(nearest(&word, known))
}

/// Records a second occurrence of an option that may appear only once.
pub(crate) fn note_duplicate<T>(seen: &Option<T>, key: &Ident, errors: &mut Errors) {
    if seen.is_some() {
        errors.spanned(key, format!("duplicate `{key}` option"));
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::Timeout;
    use syn::LitStr;

    fn parse(text: &str) -> Result<u128, String> {
        let literal = LitStr::new(text, proc_macro2::Span::call_site());
        Timeout::parse(&literal)
            .map(|timeout| timeout.duration.as_millis())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn reads_numbers_and_units() {
        assert_eq!(parse("250ms"), Ok(250));
        assert_eq!(parse("30s"), Ok(30_000));
        assert_eq!(parse("5m"), Ok(300_000));
        assert_eq!(parse("1h"), Ok(3_600_000));
        assert_eq!(parse("2 minutes"), Ok(120_000));
        assert_eq!(parse("1m 30s"), Ok(90_000));
        assert_eq!(parse("1.5s"), Ok(1_500));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in ["", "30", "s", "0s", "-1s", "soon", "99999999999999999999h"] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("is not a timeout"), "{bad}: {error}");
        }
    }
}
