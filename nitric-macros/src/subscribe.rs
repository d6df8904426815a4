//! `#[subscribe("topic")]`: registers an `async fn` as this service's
//! subscriber of a topic; its parameter is the message's typed payload.

use crate::attribute_args::{self, crate_option, leading_name, next_key, unknown_option};
use crate::diagnostics::Errors;
use crate::handler_fn::{self, Adapter, HandlerAttribute};
use crate::resource_name::ResourceName;
use crate::runtime_path::RuntimePath;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

const USAGE: &str = "#[subscribe(\"updates\")]";
const OPTIONS: &[&str] = &[attribute_args::CRATE];

/// The parsed arguments of one `#[subscribe(...)]`.
pub(crate) struct SubscribeArgs {
    topic: ResourceName,
    runtime: RuntimePath,
}

impl Parse for SubscribeArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let topic = ResourceName::parse(leading_name(input, "topic", USAGE)?, "topic");
        let mut runtime = None;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => {
                    unknown_option(input, &key, OPTIONS, &mut errors)?;
                }
            }
        }
        let topic = topic.map_err(|error| errors.push(error)).ok();
        errors.finish(topic).map(|topic| Self {
            topic: topic.expect("no errors means the name parsed"),
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        })
    }
}

/// Expands the attribute; on any error the function is emitted unchanged
/// beside the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let handler = HandlerAttribute {
        placement: "#[subscribe] goes on an `async fn` receiving the topic's messages",
        kind: "subscriber",
    };
    handler.expand(
        syn::parse2::<SubscribeArgs>(args),
        item,
        |_| "the message's payload, a type that implements `serde::Deserialize`".to_owned(),
        registration,
    )
}

fn registration(
    args: &SubscribeArgs,
    function: &syn::ItemFn,
    signature: &handler_fn::HandlerSignature,
) -> TokenStream {
    let topic = &args.topic.value;
    let adapter = Adapter {
        input_type: quote!(__nitric::TopicMessage),
        // Spanned to the user's type: a payload type serde cannot read is
        // reported there. A payload that does not fit fails this delivery,
        // and the membrane delivers it again.
        argument: &|ty, input| {
            quote_spanned! {ty.span()=>
                match <#ty as __nitric::FromTopicMessage>::from_topic_message(#input) {
                    ::core::result::Result::Ok(payload) => payload,
                    ::core::result::Result::Err(error) => return ::core::result::Result::Err(error.into()),
                }
            }
        },
    };
    handler_fn::registration(
        &args.runtime,
        function,
        signature,
        adapter,
        |handler, source| {
            quote! { __nitric::SubscribeFunction::new(#topic, #handler, #source) }
        },
    )
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
}
