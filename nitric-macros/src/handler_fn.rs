//! Handler functions, for `#[websocket]` and `#[subscribe]`: the shape every
//! one must have (a free `async fn` with no generics and no more parameters
//! than its attribute allows), and [`emit`], which writes what goes beside
//! it from the plain tokens each attribute builds.

use crate::diagnostics::{item_with_errors, Errors};
use crate::runtime_contract::{
    RuntimeItem, RuntimePath, BOX_FUTURE, HANDLER_RESULT, INTO_HANDLER_RESULT, INVENTORY, SOURCE,
};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Item, ItemFn, ReturnType, Type};

/// The parameters a handler may take, for the signature check.
pub(crate) struct Parameters {
    /// How many, at most.
    pub(crate) most: usize,
    /// What they are, completing "a websocket handler takes ...", as in
    /// "at most one parameter, the event's `DisconnectContext`".
    pub(crate) allowed: String,
}

/// Records what is wrong with `function` as a handler of `kind`
/// ("websocket handler", ...), which may take `parameters`.
fn check_signature(function: &ItemFn, kind: &str, parameters: &Parameters, errors: &mut Errors) {
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

    let mut taken = 0;
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                format!("a {kind} must be a free function, not a method taking `self`"),
            ),
            FnArg::Typed(_) if taken < parameters.most => taken += 1,
            FnArg::Typed(typed) => {
                errors.spanned(typed, format!("a {kind} takes {}", parameters.allowed))
            }
        }
    }
}

/// The types of a checked handler's parameters, in order.
pub(crate) fn parameters(function: &ItemFn) -> Vec<&Type> {
    function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// What differs between handler attributes when checking the item.
pub(crate) struct HandlerAttribute {
    /// The error for an item that is not a function.
    pub(crate) placement: &'static str,
    /// What the function is, in messages: "websocket handler".
    pub(crate) kind: &'static str,
}

/// A handler attribute whose arguments and function are both well formed.
pub(crate) struct Checked<A> {
    pub(crate) args: A,
    pub(crate) function: ItemFn,
}

impl HandlerAttribute {
    /// Checks the parsed arguments and the item together, so every mistake
    /// is reported at once; the function may take `parameters`. On any
    /// error, `Err` holds the expansion: the item unchanged beside the
    /// errors.
    pub(crate) fn check<A>(
        &self,
        args: syn::Result<A>,
        item: TokenStream,
        parameters: &Parameters,
    ) -> Result<Checked<A>, TokenStream> {
        let mut errors = Errors::default();
        let args = args.map_err(|error| errors.push(error)).ok();
        let function = match syn::parse2::<Item>(item.clone()) {
            Ok(Item::Fn(function)) => Some(function),
            Ok(other) => {
                errors.spanned(&other, self.placement);
                None
            }
            Err(error) => return Err(item_with_errors(item, error)),
        };
        if let Some(function) = &function {
            check_signature(function, self.kind, parameters, &mut errors);
        }
        match (errors.finish(()), args, function) {
            (Ok(()), Some(args), Some(function)) => Ok(Checked { args, function }),
            (Err(error), ..) => Err(item_with_errors(item, error)),
            _ => unreachable!("a missing part always records an error"),
        }
    }
}

/// The adapter's input, as the argument conversion names it.
///
/// The adapter's locals are named once with one hygiene: the spans of the
/// conversion come from the user's code, which may be a `macro_rules!` body
/// whose hygiene differs from the attribute's, and locals spelled with two
/// such spans would not see each other.
pub(crate) fn input() -> Ident {
    Ident::new("__nitric_input", Span::mixed_site())
}

/// The adapter's local holding the second argument, named like [`input`].
fn second() -> Ident {
    Ident::new("__nitric_second", Span::mixed_site())
}

/// The adapter's name, as the submission names it.
pub(crate) fn adapter() -> Ident {
    Ident::new("__nitric_adapter", Span::call_site())
}

/// `Source::new("name", file!(), line!())` for `function`, as the
/// submission names its origin.
pub(crate) fn source(function: &ItemFn) -> TokenStream {
    let name = function.sig.ident.to_string();
    quote!(#SOURCE::new(#name, ::core::file!(), ::core::line!()))
}

/// What one handler attribute adds beside the function, as plain tokens.
pub(crate) struct Registration {
    /// The adapter's parameter type: what the runtime hands it.
    pub(crate) input_type: TokenStream,
    /// The expression turning [`input`] into the function's argument; it
    /// may `return` an error from the adapter's future. `None` when the
    /// function takes no parameter.
    pub(crate) argument: Option<TokenStream>,
    /// The expression building the function's second argument from a
    /// borrowed [`input`], evaluated before [`Self::argument`] moves it; it
    /// may `.await` and `return` an error. `None` when the function takes
    /// one parameter or none.
    pub(crate) second_argument: Option<TokenStream>,
    /// What is submitted to `inventory`, naming [`adapter`] and [`source`].
    pub(crate) submission: TokenStream,
}

/// What an adapter's future comes to, and the trait turning the user's
/// output into it: `<Output as Trait>::method(output)`.
pub(crate) struct AdapterOutput {
    pub(crate) result: RuntimeItem,
    pub(crate) into: RuntimeItem,
    pub(crate) method: &'static str,
}

/// The output of the event handlers' adapters: a `HandlerResult`.
const HANDLER_OUTPUT: AdapterOutput = AdapterOutput {
    result: HANDLER_RESULT,
    into: INTO_HANDLER_RESULT,
    method: "into_handler_result",
};

/// The function as written, then, in a `const _` block so no name leaks,
/// the adapter the runtime calls through a fn pointer and its submission.
pub(crate) fn emit(
    runtime: &RuntimePath,
    function: &ItemFn,
    registration: Registration,
) -> TokenStream {
    emit_returning(runtime, function, registration, &HANDLER_OUTPUT)
}

/// [`emit`], for an adapter whose future comes to `output.result`.
pub(crate) fn emit_returning(
    runtime: &RuntimePath,
    function: &ItemFn,
    registration: Registration,
    adapter_output: &AdapterOutput,
) -> TokenStream {
    let Registration {
        input_type,
        argument,
        second_argument,
        submission,
    } = registration;
    let import = runtime.import();
    let name = &function.sig.ident;
    let adapter = adapter();
    let input = input();
    let parameter = match &argument {
        Some(_) => quote!(#input),
        None => quote!(_),
    };
    let (read_second, second) = match second_argument {
        Some(expression) => {
            let second = second();
            (quote!(let #second = #expression;), quote!(, #second))
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    let output = Ident::new("__nitric_output", Span::mixed_site());
    let result = adapter_output.result;

    // Spanned to the return type, so an unsupported one is reported there.
    let (output_type, output_span) = match &function.sig.output {
        ReturnType::Default => (quote!(()), name.span()),
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let into = adapter_output.into.spanned(output_span);
    let method = Ident::new(adapter_output.method, output_span);
    let into_result = quote_spanned! {output_span=>
        <#output_type as #into>::#method(#output)
    };
    // Spanned to the name, so a future that is not `Send` is reported there.
    let boxed = quote_spanned! {name.span()=>
        ::std::boxed::Box::pin(async move {
            #read_second
            let #output: #output_type = #name(#argument #second).await;
            #into_result
        })
    };

    quote! {
        #function

        const _: () = {
            #import

            #[doc(hidden)]
            fn #adapter(#parameter: #input_type) -> #BOX_FUTURE<#result> {
                #boxed
            }

            #INVENTORY::submit! { #submission }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn errors_for(function: ItemFn) -> Vec<String> {
        errors_for_at_most(1, function)
    }

    fn errors_for_at_most(most: usize, function: ItemFn) -> Vec<String> {
        let mut errors = Errors::default();
        let parameters = Parameters {
            most,
            allowed: format!("at most {most} parameters"),
        };
        check_signature(&function, "websocket handler", &parameters, &mut errors);
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
        assert!(errors[3].contains("takes at most 1 parameters"));
    }

    #[test]
    fn reports_each_parameter_beyond_the_allowed_ones() {
        let function: ItemFn = parse_quote!(
            async fn handler(ctx: MessageContext, Json(chat): Json<Chat>, extra: u32) {}
        );
        assert!(errors_for_at_most(3, function.clone()).is_empty());
        assert_eq!(
            errors_for_at_most(2, function.clone()),
            ["a websocket handler takes at most 2 parameters"]
        );
        assert_eq!(errors_for_at_most(1, function).len(), 2);
        let function: ItemFn = parse_quote!(
            async fn handler(ctx: MessageContext, Json(chat): Json<Chat>) {}
        );
        let types: Vec<String> = parameters(&function)
            .iter()
            .map(|ty| quote!(#ty).to_string())
            .collect();
        assert_eq!(types, ["MessageContext", "Json < Chat >"]);
    }
}
