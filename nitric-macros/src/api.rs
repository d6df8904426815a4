//! `#[api("main", get = "/rooms/:room")]`: registers an `async fn` as the
//! handler of one route (method and path) of an HTTP API.

use crate::attribute_args::{
    self, crate_option, leading_name, next_key, string_value, unknown_option,
};
use crate::diagnostics::Errors;
use crate::handler_fn::{self, AdapterOutput, Checked, HandlerAttribute, Parameters, Registration};
use crate::resource_name::ResourceName;
use crate::runtime_contract::{
    RuntimePath, API_FUNCTION, API_RESULT, FROM_CONTEXT, FROM_REQUEST, HTTP_CONTEXT,
    INTO_API_RESULT,
};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

const USAGE: &str = "#[api(\"main\", get = \"/rooms/:room\")]";

/// The options naming a method, each taking the route's path, with the
/// method the contract carries.
const METHODS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    // A CORS preflight's answer, say; the official SDKs register it too.
    ("options", "OPTIONS"),
];
const OPTIONS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "options",
    attribute_args::TIMEOUT,
    attribute_args::CRATE,
];

/// A route's method and its checked path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    method: &'static str,
    path: String,
}

/// What is wrong with `path` as a route, if anything: it starts with `/`,
/// has no empty segment (but may be `/` alone), no query or fragment, and
/// each parameter segment is `:name` with a name used once.
fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "the path {path:?} must start with `/`, as in \"/{}\"",
            path.trim_start_matches('/')
        ));
    }
    if path == "/" {
        return None;
    }
    if let Some(bad) = path
        .chars()
        .find(|c| matches!(c, '?' | '#' | '*' | '{' | '}') || c.is_whitespace())
    {
        return Some(format!("the path {path:?} contains {bad:?}; a route is a path with `:name` parameters, as in \"/rooms/:room\""));
    }
    let mut names = Vec::new();
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Some(format!(
                "the path {path:?} has an empty segment (`//` or a trailing `/`)"
            ));
        }
        let Some(name) = segment.strip_prefix(':') else {
            if segment.contains(':') {
                return Some(format!("in the path {path:?}, the segment {segment:?} has a `:` inside; a parameter is a whole segment, as in \"/rooms/:room\""));
            }
            continue;
        };
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Some(format!("in the path {path:?}, the parameter {segment:?} is not `:` and a name (letters, digits and `_`, not starting with a digit)"));
        }
        if names.contains(&name) {
            return Some(format!(
                "the path {path:?} names the parameter `:{name}` twice"
            ));
        }
        names.push(name);
    }
    None
}

/// The parsed arguments of one `#[api(...)]`.
pub(crate) struct ApiArgs {
    api: ResourceName,
    route: Route,
    timeout: Option<attribute_args::Timeout>,
    runtime: RuntimePath,
}

impl Parse for ApiArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let api = ResourceName::parse(leading_name(input, "api", USAGE)?, "api");
        let mut route: Option<(Ident, Route)> = None;
        let mut timeout = None;
        let mut runtime = None;
        let mut misspelled = None;
        while let Some(key) = next_key(input)? {
            let word = key.to_string();
            if let Some(&(_, method)) = METHODS.iter().find(|(option, _)| *option == word) {
                let literal =
                    string_value(input, &format!("{word} = \"/rooms/:room\""), &mut errors)?;
                if let Some((first, _)) = &route {
                    let mut error = syn::Error::new(
                        key.span(),
                        format!("one route per attribute: `{first}` is already given; put `#[api(...)]` on another function for `{word}`"),
                    );
                    error.combine(syn::Error::new(first.span(), "the route already given"));
                    errors.push(error);
                    continue;
                }
                let path = literal
                    .as_ref()
                    .map(LitStr::value)
                    .unwrap_or_else(|| "/".to_owned());
                if let (Some(literal), Some(problem)) = (&literal, path_problem(&path)) {
                    errors.push(syn::Error::new(literal.span(), problem));
                }
                route = Some((key, Route { method, path }));
                continue;
            }
            match word.as_str() {
                attribute_args::TIMEOUT => {
                    attribute_args::timeout_option(input, &key, &mut timeout, &mut errors)?
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => misspelled = unknown_option(input, &key, OPTIONS, &mut errors)?.or(misspelled),
            }
        }
        let misspelled_method =
            misspelled.is_some_and(|option| METHODS.iter().any(|(m, _)| *m == option));
        if route.is_none() && !misspelled_method {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("missing the route: add one of `get`, `post`, `put`, `patch` or `delete` with its path, as in {USAGE}"),
            ));
        }
        let api = api.map_err(|error| errors.push(error)).ok();
        let args = api.zip(route).map(|(api, (_, route))| Self {
            api,
            route,
            timeout,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        });
        errors
            .finish(args)
            .map(|args| args.expect("no errors means every part parsed"))
    }
}

const HANDLER: HandlerAttribute = HandlerAttribute {
    placement: "#[api] goes on an `async fn` answering one route of an API",
    kind: "route handler",
};

const OUTPUT: AdapterOutput = AdapterOutput {
    result: API_RESULT,
    into: INTO_API_RESULT,
    method: "into_api_result",
};

/// Expands the attribute: the function as written, its adapter taking the
/// request's context, and an `ApiFunction` registration. On any error the
/// function is emitted unchanged beside the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<ApiArgs>(args);
    let parameters = Parameters {
        most: 2,
        allowed: "at most two parameters: the request's `HttpContext`, then a value read from the request, a type that implements `FromRequest` such as `Json<T>`".to_owned(),
    };
    let Checked { args, function } = match HANDLER.check(args, item, &parameters) {
        Ok(checked) => checked,
        Err(unchanged_with_errors) => return unchanged_with_errors,
    };

    let input = handler_fn::input();
    let parameters = handler_fn::parameters(&function);
    // Spanned to the user's types, so a wrong one is reported there.
    let argument = parameters.first().map(|ty| {
        let from_context = FROM_CONTEXT.spanned(ty.span());
        let context = HTTP_CONTEXT.spanned(ty.span());
        quote_spanned! {ty.span()=>
            <#ty as #from_context<#context>>::from_context(#input)
        }
    });
    let second_argument = parameters.get(1).map(|ty| {
        let from_request = FROM_REQUEST.spanned(ty.span());
        quote_spanned! {ty.span()=>
            match <#ty as #from_request>::from_request(&#input) {
                ::core::result::Result::Ok(second) => second,
                ::core::result::Result::Err(rejection) => return ::core::result::Result::Ok(rejection),
            }
        }
    });
    let api = &args.api.value;
    let (method, path) = (args.route.method, &args.route.path);
    let adapter = handler_fn::adapter();
    let source = handler_fn::source(&function);
    let with_timeout = attribute_args::with_timeout(args.timeout);
    let submission = quote! {
        #API_FUNCTION::new(#api, #method, #path, #adapter, #source)#with_timeout
    };
    let registration = Registration {
        input_type: quote!(#HTTP_CONTEXT),
        argument,
        second_argument,
        submission,
    };
    handler_fn::emit_returning(&args.runtime, &function, registration, &OUTPUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<(String, &'static str, String), String> {
        syn::parse2::<ApiArgs>(tokens)
            .map(|args| (args.api.value, args.route.method, args.route.path))
            .map_err(crate::diagnostics::joined)
    }

    #[test]
    fn parses_the_api_method_and_path() {
        assert_eq!(
            parse(quote!("main", get = "/rooms/:room")),
            Ok(("main".into(), "GET", "/rooms/:room".into()))
        );
        assert_eq!(
            parse(quote!(
                "main",
                delete = "/",
                timeout = "5s",
                crate = "::renamed",
            )),
            Ok(("main".into(), "DELETE", "/".into()))
        );
    }

    #[test]
    fn paths_are_checked() {
        assert_eq!(path_problem("/users/:id/posts/:post_id"), None);
        for (bad, says) in [
            ("rooms", "must start with `/`"),
            ("/rooms//x", "empty segment"),
            ("/rooms/", "empty segment"),
            ("/rooms/:", "is not `:` and a name"),
            ("/rooms/:1st", "is not `:` and a name"),
            ("/rooms/a:b", "has a `:` inside"),
            ("/rooms/:id/x/:id", "twice"),
            ("/rooms?x=1", "contains '?'"),
            ("/rooms/{id}", "contains '{'"),
        ] {
            let problem = path_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn reports_every_mistake() {
        let error = parse(quote!("", get = "rooms", post = "/x", colour = "red")).unwrap_err();
        assert!(error.contains("the api name must not be empty"), "{error}");
        assert!(error.contains("must start with `/`"), "{error}");
        assert!(error.contains("one route per attribute"), "{error}");
        assert!(error.contains("unknown option `colour`"), "{error}");
    }

    #[test]
    fn a_missing_or_misspelled_route() {
        let error = parse(quote!("main")).unwrap_err();
        assert!(error.starts_with("missing the route"), "{error}");
        let error = parse(quote!("main", gett = "/")).unwrap_err();
        assert!(error.contains("did you mean `get`?"), "{error}");
        assert!(!error.contains("missing the route"), "{error}");
    }
}
