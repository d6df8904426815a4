//! `#[kv_store("name", allow = [get, set, delete])]` on
//! `static NAME: KvStore<T>;`: declares a key/value store and the
//! permissions this service needs on it, and gives the static its value.

use crate::attribute_args::{
    self, crate_option, leading_name, next_key, note_duplicate, unknown_option,
};
use crate::diagnostics::{expected_one_of, item_with_errors, Errors};
use crate::resource_name::ResourceName;
use crate::runtime_path::RuntimePath;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{bracketed, Attribute, Expr, ExprLit, Ident, Lit, Token, Type, Visibility};

const USAGE: &str = "#[kv_store(\"profiles\", allow = [get, set])]";
const ALLOW: &str = "allow";
const OPTIONS: &[&str] = &[ALLOW, attribute_args::CRATE];

/// One permission a service can ask for on a key/value store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permission {
    Get,
    Set,
    Delete,
}

impl Permission {
    const NAMES: &'static [&'static str] = &["get", "set", "delete"];

    fn parse(ident: &Ident) -> syn::Result<Self> {
        match ident.to_string().as_str() {
            "get" => Ok(Self::Get),
            "set" => Ok(Self::Set),
            "delete" => Ok(Self::Delete),
            other => Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown key/value permission `{other}`: {}",
                    expected_one_of(other, Self::NAMES, "`")
                ),
            )),
        }
    }
}

/// The parsed arguments of one `#[kv_store(...)]`.
pub(crate) struct KvStoreArgs {
    store: ResourceName,
    permissions: Vec<Permission>,
    runtime: RuntimePath,
}

impl Parse for KvStoreArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let store = ResourceName::parse(
            leading_name(input, "key/value store", USAGE)?,
            "key/value store",
        );
        let mut permissions: Option<Vec<Permission>> = None;
        let mut runtime = None;
        let mut misspelled = None;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                ALLOW => {
                    input.parse::<Token![=]>()?;
                    note_duplicate(&permissions, &key, &mut errors);
                    permissions = Some(parse_permissions(input, &mut errors)?);
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => misspelled = unknown_option(input, &key, OPTIONS, &mut errors)?.or(misspelled),
            }
        }
        // "did you mean `allow`?" already said the permissions are missing.
        if permissions.is_none() && misspelled != Some(ALLOW) {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("missing the permissions: add `allow = [...]` with any of `get`, `set`, `delete`, as in {USAGE}"),
            ));
        }
        let store = store.map_err(|error| errors.push(error)).ok();
        let args = store.zip(permissions).map(|(store, permissions)| Self {
            store,
            permissions,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        });
        errors
            .finish(args)
            .map(|args| args.expect("no errors means every part parsed"))
    }
}

/// Parses `[get, set, ...]`: at least one, each known, none twice.
fn parse_permissions(input: ParseStream, errors: &mut Errors) -> syn::Result<Vec<Permission>> {
    if !input.peek(syn::token::Bracket) {
        let value: Expr = input.parse()?;
        errors.spanned(
            value,
            "expected the permissions in brackets, as in `allow = [get, set]`",
        );
        return Ok(Vec::new());
    }
    let content;
    let brackets = bracketed!(content in input);
    let words = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    if words.is_empty() {
        errors.push(syn::Error::new(
            brackets.span.join(),
            "ask for at least one permission: `get`, `set` or `delete`",
        ));
    }
    let mut permissions = Vec::new();
    for word in &words {
        let Some(ident) = bare_word(word, errors) else {
            continue;
        };
        match Permission::parse(ident) {
            Ok(permission) if permissions.contains(&permission) => {
                errors.spanned(ident, format!("`{ident}` is listed twice"));
            }
            Ok(permission) => permissions.push(permission),
            Err(error) => errors.push(error),
        }
    }
    Ok(permissions)
}

/// The identifier a permission is written as, or `None` with the error
/// recorded (a quoted `"get"` is the likely mistake, as events are quoted).
fn bare_word<'a>(word: &'a Expr, errors: &mut Errors) -> Option<&'a Ident> {
    if let Expr::Path(path) = word {
        if let (Some(ident), None, []) = (path.path.get_ident(), &path.qself, &path.attrs[..]) {
            return Some(ident);
        }
    }
    let message = match word {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => format!(
            "write permissions as bare words, without quotes: `{}`",
            text.value()
        ),
        _ => "expected a permission: `get`, `set` or `delete`".to_owned(),
    };
    errors.spanned(word, message);
    None
}

/// `static NAME: Type;`, the item the attribute goes on. The initializer is
/// the macro's to write, so the item must not have one, nor be `mut`; both
/// are parsed anyway so that [`DeclaredStatic::check`] can say so and the
/// static can still be emitted.
struct DeclaredStatic {
    attrs: Vec<Attribute>,
    vis: Visibility,
    static_token: Token![static],
    mutability: Option<Token![mut]>,
    ident: Ident,
    ty: Type,
    initializer: Option<(Token![=], Expr)>,
}

impl Parse for DeclaredStatic {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let static_token = input.parse().map_err(|error: syn::Error| {
            syn::Error::new(
                error.span(),
                "#[kv_store] goes on a `static NAME: KvStore<T>;` without an initializer",
            )
        })?;
        let mutability = input.parse()?;
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        let initializer = match input.parse::<Option<Token![=]>>()? {
            Some(eq) => Some((eq, input.parse()?)),
            None => None,
        };
        input.parse::<Token![;]>()?;
        Ok(Self {
            attrs,
            vis,
            static_token,
            mutability,
            ident,
            ty,
            initializer,
        })
    }
}

impl DeclaredStatic {
    /// Records what the attribute does not allow on a well-formed static.
    fn check(&self, errors: &mut Errors) {
        if let Some(mutability) = &self.mutability {
            errors.spanned(
                mutability,
                "a key/value store static cannot be `mut`; its client needs only `&self`",
            );
        }
        if let Some((eq, value)) = &self.initializer {
            errors.spanned(
                quote!(#eq #value),
                "remove the initializer: #[kv_store] provides the static's value",
            );
        }
    }

    /// The static as written, with the errors as its initializer: every use
    /// of it still resolves, and rustc adds nothing (no "free static item
    /// without body", no complaint about a replaced initializer), because
    /// `compile_error!` in expression position has whatever type is needed.
    fn with_errors(&self, error: syn::Error) -> TokenStream {
        let Self {
            attrs,
            vis,
            static_token,
            mutability,
            ident,
            ty,
            initializer: _,
        } = self;
        let several = error.clone().into_iter().nth(1).is_some();
        let errors = error.to_compile_error();
        // Brace-style macro calls need no `;`; the last is the block's value.
        let value = if several { quote!({ #errors }) } else { errors };
        quote! {
            #(#attrs)*
            #vis #static_token #mutability #ident: #ty = #value;
        }
    }
}

/// Expands the attribute. On error the static is emitted with the errors as
/// its value (see [`DeclaredStatic::with_errors`]), or, if the item is not a
/// static at all, unchanged beside them.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = syn::parse2::<KvStoreArgs>(args)
        .map_err(|error| errors.push(error))
        .ok();
    let declared = syn::parse2::<DeclaredStatic>(item.clone())
        .map_err(|error| errors.push(error))
        .ok();
    if let Some(declared) = &declared {
        declared.check(&mut errors);
    }
    match (errors.finish(()), args, declared) {
        (Ok(()), Some(args), Some(declared)) => declaration(&args, &declared),
        (Err(error), _, Some(declared)) => declared.with_errors(error),
        (Err(error), _, None) => item_with_errors(item, error),
        _ => unreachable!("a missing part always records an error"),
    }
}

/// The static with its value, and the declaration submitted to `inventory`.
fn declaration(args: &KvStoreArgs, declared: &DeclaredStatic) -> TokenStream {
    let private = args.runtime.private();
    let DeclaredStatic {
        attrs,
        vis,
        static_token,
        ident,
        ty,
        ..
    } = declared;
    let store = &args.store.value;
    let ident_text = ident.to_string();
    let permissions = args.permissions.iter().map(|permission| {
        let variant = Ident::new(&format!("{permission:?}"), Span::call_site());
        quote!(__nitric::KvPermission::#variant)
    });
    // Spanned to the type, so a static that is not a `KvStore<T>` is
    // reported there.
    let value = quote_spanned! {ty.span()=> __nitric::KvStore::declared(&DECLARATION) };

    quote! {
        #(#attrs)*
        #vis #static_token #ident: #ty = {
            use #private as __nitric;

            static DECLARATION: __nitric::KvStoreDeclaration = __nitric::KvStoreDeclaration::new(
                #store,
                &[#(#permissions),*],
                __nitric::Source::new(#ident_text, ::core::file!(), ::core::line!()),
            );

            __nitric::inventory::submit! {
                __nitric::ResourceDeclaration::KvStore(&DECLARATION)
            }

            #value
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<(String, Vec<Permission>), String> {
        syn::parse2::<KvStoreArgs>(tokens)
            .map(|args| (args.store.value, args.permissions))
            .map_err(|error| {
                error
                    .into_iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
    }

    #[test]
    fn parses_store_and_permissions() {
        assert_eq!(
            parse(quote!("connections", allow = [get, set, delete])),
            Ok((
                "connections".into(),
                vec![Permission::Get, Permission::Set, Permission::Delete]
            ))
        );
    }

    #[test]
    fn reports_permission_mistakes_together() {
        let error = parse(quote!("1st", allow = [get, gte, get])).unwrap_err();
        assert!(error.contains("starts with '1'"), "{error}");
        assert!(error.contains("did you mean `get`?"), "{error}");
        assert!(error.contains("`get` is listed twice"), "{error}");
    }

    #[test]
    fn requires_some_permission() {
        assert!(parse(quote!("profiles"))
            .unwrap_err()
            .contains("missing the permissions"));
        assert!(parse(quote!("profiles", allow = []))
            .unwrap_err()
            .contains("at least one permission"));
    }

    #[test]
    fn explains_permissions_in_the_wrong_form() {
        let error = parse(quote!("profiles", allow = get)).unwrap_err();
        assert!(error.contains("in brackets"), "{error}");
        let error = parse(quote!("profiles", allow = ["get", set])).unwrap_err();
        assert_eq!(
            error,
            "write permissions as bare words, without quotes: `get`"
        );
    }

    #[test]
    fn refuses_initialized_or_mutable_statics() {
        let declared = syn::parse2::<DeclaredStatic>(quote!(
            static mut S: KvStore<T> = x;
        ))
        .expect("well-formed");
        let mut errors = Errors::default();
        declared.check(&mut errors);
        let messages: Vec<String> = errors
            .finish(())
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("cannot be `mut`"));
        assert!(messages[1].contains("remove the initializer"));
    }
}
