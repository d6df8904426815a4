//! The shape every handler function must have: a free `async fn` with at most
//! one parameter (the event's context) and no generics.

use crate::diagnostics::Errors;
use syn::{FnArg, ItemFn, ReturnType, Type};

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
