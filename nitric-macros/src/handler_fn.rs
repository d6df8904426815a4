//! The shape every handler function must have: a free `async fn` with at most
//! one parameter (the event's context) and no generics.

use crate::diagnostics::{item_with_errors, Errors};
use crate::runtime_path::RuntimePath;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Item, ItemFn, ReturnType, Type};

/// What generated code needs from a checked handler signature.
pub(crate) struct HandlerSignature<'a> {
    /// The type of the context parameter, if the handler takes one.
    pub(crate) context: Option<&'a Type>,
    /// The declared return type; `None` for `()`.
    pub(crate) output: Option<&'a Type>,
}

/// Checks `function` as a handler of `kind` ("websocket handler", ...),
/// describing the expected context type as `context_hint` in errors.
pub(crate) fn check<'a>(
    function: &'a ItemFn,
    kind: &str,
    context_hint: &str,
    errors: &mut Errors,
) -> HandlerSignature<'a> {
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        errors.spanned(
            signature.fn_token,
            format!(
                "a {kind} must be an `async fn`; write `async fn {}`",
                signature.ident
            ),
        );
    }
    if let Some(constness) = &signature.constness {
        errors.spanned(constness, format!("a {kind} cannot be a `const fn`"));
    }
    if let Some(unsafety) = &signature.unsafety {
        errors.spanned(unsafety, format!("a {kind} cannot be `unsafe`"));
    }
    if let Some(abi) = &signature.abi {
        errors.spanned(abi, format!("a {kind} cannot have an `extern` ABI"));
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.spanned(
            &signature.generics,
            format!("a {kind} cannot be generic: the runtime calls it with one concrete type"),
        );
    }
    if let Some(variadic) = &signature.variadic {
        errors.spanned(variadic, format!("a {kind} cannot be variadic"));
    }

    let mut context = None;
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                format!("a {kind} must be a free function, not a method taking `self`"),
            ),
            FnArg::Typed(typed) if context.is_none() => context = Some(&*typed.ty),
            FnArg::Typed(typed) => errors.spanned(
                typed,
                format!("a {kind} takes at most one parameter, {context_hint}"),
            ),
        }
    }

    let output = match &signature.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(&**ty),
    };
    HandlerSignature { context, output }
}

/// What differs between handler attributes when checking the item.
pub(crate) struct HandlerAttribute {
    /// The error for an item that is not a function.
    pub(crate) placement: &'static str,
    /// What the function is, in messages: "websocket handler".
    pub(crate) kind: &'static str,
}

impl HandlerAttribute {
    /// Checks the parsed arguments and the function together, so every
    /// mistake is reported at once; on any error the item is emitted
    /// unchanged beside the errors.
    pub(crate) fn expand<A>(
        &self,
        args: syn::Result<A>,
        item: TokenStream,
        parameter_hint: impl FnOnce(Option<&A>) -> String,
        register: impl FnOnce(&A, &ItemFn, &HandlerSignature) -> TokenStream,
    ) -> TokenStream {
        let mut errors = Errors::default();
        let args = args.map_err(|error| errors.push(error)).ok();
        let function = match syn::parse2::<Item>(item.clone()) {
            Ok(Item::Fn(function)) => Some(function),
            Ok(other) => {
                errors.spanned(&other, self.placement);
                None
            }
            Err(error) => return item_with_errors(item, error),
        };
        let hint = parameter_hint(args.as_ref());
        let signature = function
            .as_ref()
            .map(|function| check(function, self.kind, &hint, &mut errors));
        match (errors.finish(()), args, &function, signature) {
            (Ok(()), Some(args), Some(function), Some(signature)) => {
                let registration = register(&args, function, &signature);
                quote! {
                    #function
                    #registration
                }
            }
            (Err(error), ..) => item_with_errors(item, error),
            _ => unreachable!("a missing part always records an error"),
        }
    }
}

/// How an adapter turns what the runtime hands it into the user's parameter.
pub(crate) struct Adapter<'a> {
    /// The adapter's input type, in `__nitric` (the `__private` alias).
    pub(crate) input_type: TokenStream,
    /// The expression converting the input (an identifier) to the parameter
    /// of type `ty`; it may `return` an error from the adapter's future.
    pub(crate) argument: &'a dyn Fn(&Type, &Ident) -> TokenStream,
}

/// The user's function stays as written; beside it, in a `const _` block so
/// no name leaks, an adapter the runtime can call through a fn pointer, and
/// the `inventory` submission built by `submission(adapter, source)`.
pub(crate) fn registration(
    runtime: &RuntimePath,
    function: &ItemFn,
    signature: &HandlerSignature,
    adapter: Adapter,
    submission: impl FnOnce(&Ident, TokenStream) -> TokenStream,
) -> TokenStream {
    let private = runtime.private();
    let name = &function.sig.ident;
    let name_text = name.to_string();

    // The adapter's locals, named once with one hygiene: the spans below
    // come from the user's code, which may be a `macro_rules!` body whose
    // hygiene differs from the attribute's, and locals spelled with two
    // such spans would not see each other.
    let input = Ident::new("__nitric_input", Span::mixed_site());
    let output = Ident::new("__nitric_output", Span::mixed_site());
    let handler = Ident::new("__nitric_handler", Span::call_site());
    let parameter = match signature.context {
        Some(_) => quote!(#input),
        None => quote!(_),
    };
    let argument = signature.context.map(|ty| (adapter.argument)(ty, &input));
    let input_type = adapter.input_type;

    // Spanned to the return type, so an unsupported one is reported there.
    let output_type = signature
        .output
        .map_or_else(|| quote!(()), |ty| quote!(#ty));
    let into_result = quote_spanned! {signature.output.map_or(name.span(), |ty| ty.span())=>
        <#output_type as __nitric::IntoHandlerResult>::into_handler_result(#output)
    };
    // Spanned to the name, so a future that is not `Send` is reported there.
    let boxed = quote_spanned! {name.span()=>
        ::std::boxed::Box::pin(async move {
            let #output: #output_type = #name(#argument).await;
            #into_result
        })
    };
    let source = quote!(__nitric::Source::new(#name_text, ::core::file!(), ::core::line!()));
    let submission = submission(&handler, source);

    quote! {
        const _: () = {
            use #private as __nitric;

            #[doc(hidden)]
            fn #handler(#parameter: #input_type) -> __nitric::BoxFuture<__nitric::HandlerResult> {
                #boxed
            }

            __nitric::inventory::submit! { #submission }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn errors_for(function: ItemFn) -> Vec<String> {
        let mut errors = Errors::default();
        check(
            &function,
            "websocket handler",
            "the event context",
            &mut errors,
        );
        match errors.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_async_fns_with_zero_or_one_parameter() {
        assert!(errors_for(parse_quote!(
            async fn a() {}
        ))
        .is_empty());
        assert!(errors_for(parse_quote!(
            async fn b(ctx: MessageContext) -> Result<(), E> {
                todo!()
            }
        ))
        .is_empty());
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let errors = errors_for(parse_quote!(
            fn bad<T>(self, a: A, b: B) {}
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("must be an `async fn`"));
        assert!(errors[1].contains("cannot be generic"));
        assert!(errors[2].contains("not a method taking `self`"));
        assert!(errors[3].contains("at most one parameter"));
    }
}
