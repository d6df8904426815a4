//! `#[subscribe("topic")]`: registers an `async fn` as this service's
//! subscriber of a topic; its parameter is the message's typed payload.

use crate::attribute_args::{self, crate_option, leading_name, next_key, unknown_option};
use crate::diagnostics::Errors;
use crate::handler_fn::{self, Checked, HandlerAttribute, Parameters, Registration};
use crate::resource_name::ResourceName;
use crate::runtime_contract::{RuntimePath, FROM_TOPIC_EVENT, SUBSCRIBE_FUNCTION, TOPIC_EVENT};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

const USAGE: &str = "#[subscribe(\"updates\")]";
const OPTIONS: &[&str] = &[attribute_args::TIMEOUT, attribute_args::CRATE];

/// The parsed arguments of one `#[subscribe(...)]`.
pub(crate) struct SubscribeArgs {
    topic: ResourceName,
    timeout: Option<attribute_args::Timeout>,
    runtime: RuntimePath,
}

impl Parse for SubscribeArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let topic = ResourceName::parse(leading_name(input, "topic", USAGE)?, "topic");
        let mut runtime = None;
        let mut timeout = None;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                attribute_args::TIMEOUT => {
                    attribute_args::timeout_option(input, &key, &mut timeout, &mut errors)?
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => {
                    unknown_option(input, &key, OPTIONS, &mut errors)?;
                }
            }
        }
        let topic = topic.map_err(|error| errors.push(error)).ok();
        errors.finish(topic).map(|topic| Self {
            topic: topic.expect("no errors means the name parsed"),
            timeout,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        })
    }
}

const HANDLER: HandlerAttribute = HandlerAttribute {
    placement: "#[subscribe] goes on an `async fn` receiving the topic's messages",
    kind: "subscriber",
};

/// Expands the attribute: the function as written, its adapter taking the
/// topic message, and a `SubscribeFunction` registration. On any error the
/// function is emitted unchanged beside the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<SubscribeArgs>(args);
    let parameters = Parameters {
        most: 1,
        allowed: "at most one parameter, the message's payload, a type that implements `serde::Deserialize`".to_owned(),
    };
    let Checked { args, function } = match HANDLER.check(args, item, &parameters) {
        Ok(checked) => checked,
        Err(unchanged_with_errors) => return unchanged_with_errors,
    };

    let input = handler_fn::input();
    // Spanned to the user's type: a payload type serde cannot read is
    // reported there. A payload that does not fit fails this delivery, and
    // the membrane delivers it again.
    let argument = handler_fn::parameters(&function).first().map(|ty| {
        let from_topic_event = FROM_TOPIC_EVENT.spanned(ty.span());
        quote_spanned! {ty.span()=>
            match <#ty as #from_topic_event>::from_topic_event(#input) {
                ::core::result::Result::Ok(payload) => payload,
                ::core::result::Result::Err(error) => return ::core::result::Result::Err(error.into()),
            }
        }
    });
    let topic = &args.topic.value;
    let adapter = handler_fn::adapter();
    let source = handler_fn::source(&function);
    let with_timeout = attribute_args::with_timeout(args.timeout);
    let submission = quote! { #SUBSCRIBE_FUNCTION::new(#topic, #adapter, #source)#with_timeout };

    let registration = Registration {
        input_type: quote!(#TOPIC_EVENT),
        argument,
        second_argument: None,
        submission,
    };
    handler_fn::emit(&args.runtime, &function, registration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<String, String> {
        syn::parse2::<SubscribeArgs>(tokens)
            .map(|args| args.topic.value)
            .map_err(crate::diagnostics::joined)
    }

    #[test]
    fn parses_the_topic() {
        assert_eq!(parse(quote!("updates")), Ok("updates".into()));
        assert_eq!(
            parse(quote!("updates", crate = "::renamed")),
            Ok("updates".into())
        );
    }

    #[test]
    fn reports_every_mistake() {
        let error = parse(quote!("no spaces", on = "message")).unwrap_err();
        assert!(error.contains("invalid topic name"), "{error}");
        assert!(error.contains("unknown option `on`"), "{error}");
    }

    /// Properties over generated inputs; see `crate::arbitrary`.
    mod properties {
        use super::*;
        use crate::arbitrary::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics_and_keeps_the_function(args in any_args()) {
                let Some(args) = lex(&args) else { return Ok(()) };
                let _ = syn::parse2::<SubscribeArgs>(args.clone());
                let item = tokens("async fn on_update(update: Update) {}");
                let expanded = expand(args, item);
                let file = syn::parse2::<syn::File>(expanded.clone())
                    .map_err(|error| TestCaseError::fail(format!("{error}: {expanded}")))?;
                prop_assert!(
                    file.items.iter().any(|item| matches!(item, syn::Item::Fn(f) if f.sig.ident == "on_update")),
                    "the function is gone: {}", expanded
                );
            }

            #[test]
            fn any_valid_topic_round_trips(name in valid_name(), renamed in any::<bool>()) {
                let runtime = if renamed { ", crate = \"::renamed\"" } else { "" };
                let source = format!("{}{runtime}", string_literal(&name));
                prop_assert_eq!(parse(tokens(&source)), Ok(name));
            }

            #[test]
            fn an_invalid_topic_is_the_one_error_and_points_at_the_name(name in invalid_name()) {
                let tokens = tokens(&string_literal(&name));
                let error = syn::parse2::<SubscribeArgs>(tokens.clone()).err().expect("refused");
                let errors = placed_errors(error);
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                prop_assert_eq!(errors[0].0, place_of_token(&tokens, 0));
                prop_assert!(errors[0].1.contains("topic name"), "{}", errors[0].1);
            }
        }
    }
}
