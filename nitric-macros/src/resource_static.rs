//! The machinery shared by the attributes that declare a resource on a
//! static client, such as `#[kv_store("name", allow = [get])]` on
//! `static NAME: KvStore<T>;`: parse the name and permissions, check the
//! static, give it its value and register the declaration. What differs
//! between resources is one [`ResourceKind`].

use crate::attribute_args::{
    self, crate_option, leading_name, next_key, note_duplicate, unknown_option,
};
use crate::diagnostics::{expected_one_of, item_with_errors, Errors};
use crate::resource_name::ResourceName;
use crate::runtime_contract::{RuntimeItem, RuntimePath, INVENTORY, RESOURCE_DECLARATION, SOURCE};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{bracketed, Attribute, Expr, ExprLit, Ident, Lit, Token, Type, Visibility};

const ALLOW: &str = "allow";
const OPTIONS: &[&str] = &[ALLOW, attribute_args::CRATE];

/// Everything that differs between resource attributes.
pub(crate) struct ResourceKind {
    /// The attribute's name, as written after `#`.
    pub(crate) attribute: &'static str,
    /// What the resource is called in messages: "key/value store".
    pub(crate) noun: &'static str,
    /// What its permissions are called in messages: "key/value".
    pub(crate) permission_noun: &'static str,
    /// The static's expected type, for messages: "KvStore<T>".
    pub(crate) client: &'static str,
    /// A complete example of the attribute.
    pub(crate) usage: &'static str,
    /// An example of the `allow` option.
    pub(crate) allow_example: &'static str,
    /// Each permission as written in `allow = [...]`, with its variant of
    /// [`Self::permission_enum`].
    pub(crate) permissions: &'static [(&'static str, &'static str)],
    /// Whether `allow` must be given with at least one permission.
    pub(crate) permissions_required: bool,
    /// The permission enum, the declaration struct, its variant of
    /// `ResourceDeclaration` and the static's client.
    pub(crate) permission_enum: RuntimeItem,
    pub(crate) declaration_type: RuntimeItem,
    pub(crate) declaration_variant: &'static str,
    pub(crate) client_value: Client,
}

/// What gives a resource static its value.
pub(crate) enum Client {
    /// One client type: `Type::declared(&DECLARATION)`.
    Type(RuntimeItem),
    /// Any type implementing this trait, picked by the static's type: the
    /// declaration takes `<Type as Trait>::NEEDS` (checked as it is
    /// compiled) and the value is `<Type>::declared(&DECLARATION)`.
    ChosenByType(RuntimeItem),
}

impl ResourceKind {
    fn permission_names(&self) -> Vec<&'static str> {
        self.permissions.iter().map(|(name, _)| *name).collect()
    }

    /// "`get`, `set` or `delete`".
    fn permission_list(&self, last_joiner: &str) -> String {
        let quoted: Vec<String> = self
            .permissions
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} {last_joiner} {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// The variant of the permission written as `ident`.
    fn permission(&self, ident: &Ident) -> syn::Result<&'static str> {
        let word = ident.to_string();
        match self.permissions.iter().find(|(name, _)| *name == word) {
            Some((_, variant)) => Ok(variant),
            None => Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown {} permission `{word}`: {}",
                    self.permission_noun,
                    expected_one_of(&word, &self.permission_names(), "`")
                ),
            )),
        }
    }
}

/// The parsed arguments of one resource attribute.
pub(crate) struct ResourceArgs {
    name: ResourceName,
    /// Variants of the kind's permission enum.
    permissions: Vec<&'static str>,
    runtime: RuntimePath,
}

impl ResourceArgs {
    /// Parses the arguments of an attribute of `kind`.
    pub(crate) fn parse(kind: &ResourceKind, input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let name = ResourceName::parse(leading_name(input, kind.noun, kind.usage)?, kind.noun);
        let mut permissions: Option<Vec<&'static str>> = None;
        let mut runtime = None;
        let mut misspelled = None;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                ALLOW => {
                    input.parse::<Token![=]>()?;
                    note_duplicate(&permissions, &key, &mut errors);
                    permissions = Some(parse_permissions(kind, input, &mut errors)?);
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => misspelled = unknown_option(input, &key, OPTIONS, &mut errors)?.or(misspelled),
            }
        }
        // "did you mean `allow`?" already said the permissions are missing.
        if permissions.is_none() && kind.permissions_required && misspelled != Some(ALLOW) {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!(
                    "missing the permissions: add `allow = [...]` with any of {}, as in {}",
                    kind.permission_list("or").replace(" or ", ", "),
                    kind.usage
                ),
            ));
        }
        let permissions = permissions.or_else(|| (!kind.permissions_required).then(Vec::new));
        let name = name.map_err(|error| errors.push(error)).ok();
        let args = name.zip(permissions).map(|(name, permissions)| Self {
            name,
            permissions,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        });
        errors
            .finish(args)
            .map(|args| args.expect("no errors means every part parsed"))
    }
}

/// Parses `[get, set, ...]`: each known, none twice, and at least one if
/// the kind requires permissions.
fn parse_permissions(
    kind: &ResourceKind,
    input: ParseStream,
    errors: &mut Errors,
) -> syn::Result<Vec<&'static str>> {
    if !input.peek(syn::token::Bracket) {
        let value: Expr = input.parse()?;
        errors.spanned(
            value,
            format!(
                "expected the permissions in brackets, as in `{}`",
                kind.allow_example
            ),
        );
        return Ok(Vec::new());
    }
    let content;
    let brackets = bracketed!(content in input);
    let words = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    if words.is_empty() && kind.permissions_required {
        errors.push(syn::Error::new(
            brackets.span.join(),
            format!(
                "ask for at least one permission: {}",
                kind.permission_list("or")
            ),
        ));
    }
    let mut permissions = Vec::new();
    for word in &words {
        let Some(ident) = bare_word(kind, word, errors) else {
            continue;
        };
        match kind.permission(ident) {
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
fn bare_word<'a>(kind: &ResourceKind, word: &'a Expr, errors: &mut Errors) -> Option<&'a Ident> {
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
        _ => format!("expected a permission: {}", kind.permission_list("or")),
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

impl DeclaredStatic {
    fn parse(kind: &ResourceKind, input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let static_token = input.parse().map_err(|error: syn::Error| {
            syn::Error::new(
                error.span(),
                format!(
                    "#[{}] goes on a `static NAME: {};` without an initializer",
                    kind.attribute, kind.client
                ),
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

    /// Records what the attribute does not allow on a well-formed static.
    fn check(&self, kind: &ResourceKind, errors: &mut Errors) {
        if let Some(mutability) = &self.mutability {
            errors.spanned(
                mutability,
                format!(
                    "a {} static cannot be `mut`; its client needs only `&self`",
                    kind.noun
                ),
            );
        }
        if let Some((eq, value)) = &self.initializer {
            errors.spanned(
                quote!(#eq #value),
                format!(
                    "remove the initializer: #[{}] provides the static's value",
                    kind.attribute
                ),
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
pub(crate) fn expand(kind: &ResourceKind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Parser::parse2(|input: ParseStream| ResourceArgs::parse(kind, input), args)
        .map_err(|error| errors.push(error))
        .ok();
    let declared = Parser::parse2(
        |input: ParseStream| DeclaredStatic::parse(kind, input),
        item.clone(),
    )
    .map_err(|error| errors.push(error))
    .ok();
    if let Some(declared) = &declared {
        declared.check(kind, &mut errors);
    }
    match (errors.finish(()), args, declared) {
        (Ok(()), Some(args), Some(declared)) => declaration(kind, &args, &declared),
        (Err(error), _, Some(declared)) => declared.with_errors(error),
        (Err(error), _, None) => item_with_errors(item, error),
        _ => unreachable!("a missing part always records an error"),
    }
}

/// The static with its value, and the declaration submitted to `inventory`.
fn declaration(kind: &ResourceKind, args: &ResourceArgs, declared: &DeclaredStatic) -> TokenStream {
    let import = args.runtime.import();
    let DeclaredStatic {
        attrs,
        vis,
        static_token,
        ident,
        ty,
        ..
    } = declared;
    let name = &args.name.value;
    let ident_text = ident.to_string();
    let ResourceKind {
        permission_enum,
        declaration_type,
        ..
    } = kind;
    let declaration_variant = Ident::new(kind.declaration_variant, Span::call_site());
    let permissions = args.permissions.iter().map(|variant| {
        let variant = Ident::new(variant, Span::call_site());
        quote!(#permission_enum::#variant)
    });
    // Spanned to the type, so a static of another type is reported there.
    let (client_needs, value) = match kind.client_value {
        Client::Type(client_type) => {
            let client_type = client_type.spanned(ty.span());
            let value = quote_spanned! {ty.span()=> #client_type::declared(&DECLARATION) };
            (quote!(), value)
        }
        Client::ChosenByType(client_trait) => {
            let client_trait = client_trait.spanned(ty.span());
            let needs = quote_spanned! {ty.span()=> .with_client(<#ty as #client_trait>::NEEDS) };
            let value = quote_spanned! {ty.span()=> <#ty>::declared(&DECLARATION) };
            (needs, value)
        }
    };

    quote! {
        #(#attrs)*
        #vis #static_token #ident: #ty = {
            #import

            static DECLARATION: #declaration_type = #declaration_type::new(
                #name,
                &[#(#permissions),*],
                #SOURCE::new(#ident_text, ::core::file!(), ::core::line!()),
            )#client_needs;

            #INVENTORY::submit! {
                #RESOURCE_DECLARATION::#declaration_variant(&DECLARATION)
            }

            #value
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv_store::KV_STORE;
    use crate::topic::TOPIC;

    fn parse(
        kind: &ResourceKind,
        tokens: TokenStream,
    ) -> Result<(String, Vec<&'static str>), String> {
        Parser::parse2(
            |input: ParseStream| ResourceArgs::parse(kind, input),
            tokens,
        )
        .map(|args| (args.name.value, args.permissions))
        .map_err(crate::diagnostics::joined)
    }

    #[test]
    fn parses_name_and_permissions() {
        assert_eq!(
            parse(&KV_STORE, quote!("connections", allow = [get, set, delete])),
            Ok(("connections".into(), vec!["Get", "Set", "Delete"]))
        );
        assert_eq!(
            parse(&TOPIC, quote!("welcome", allow = [publish])),
            Ok(("welcome".into(), vec!["Publish"]))
        );
    }

    #[test]
    fn reports_permission_mistakes_together() {
        let error = parse(&KV_STORE, quote!("1st", allow = [get, gte, get])).unwrap_err();
        assert!(error.contains("starts with '1'"), "{error}");
        assert!(error.contains("did you mean `get`?"), "{error}");
        assert!(error.contains("`get` is listed twice"), "{error}");
        let error = parse(&TOPIC, quote!("welcome", allow = [publsh])).unwrap_err();
        assert_eq!(
            error,
            "unknown topic permission `publsh`: expected one of `publish`; did you mean `publish`?"
        );
    }

    #[test]
    fn permissions_are_required_only_where_the_kind_says() {
        assert!(parse(&KV_STORE, quote!("profiles"))
            .unwrap_err()
            .contains("missing the permissions"));
        assert!(parse(&KV_STORE, quote!("profiles", allow = []))
            .unwrap_err()
            .contains("at least one permission"));
        assert_eq!(
            parse(&TOPIC, quote!("welcome")),
            Ok(("welcome".into(), vec![]))
        );
    }

    #[test]
    fn explains_permissions_in_the_wrong_form() {
        let error = parse(&KV_STORE, quote!("profiles", allow = get)).unwrap_err();
        assert!(error.contains("in brackets"), "{error}");
        let error = parse(&KV_STORE, quote!("profiles", allow = ["get", set])).unwrap_err();
        assert_eq!(
            error,
            "write permissions as bare words, without quotes: `get`"
        );
    }

    #[test]
    fn refuses_initialized_or_mutable_statics() {
        let declared = Parser::parse2(
            |input: ParseStream| DeclaredStatic::parse(&TOPIC, input),
            quote!(
                static mut S: Topic<T> = x;
            ),
        )
        .expect("well-formed");
        let mut errors = Errors::default();
        declared.check(&TOPIC, &mut errors);
        let messages: Vec<String> = errors
            .finish(())
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            messages,
            [
                "a topic static cannot be `mut`; its client needs only `&self`",
                "remove the initializer: #[topic] provides the static's value"
            ]
        );
    }

    /// Properties over generated inputs; see `crate::arbitrary`.
    mod properties {
        use super::*;
        use crate::arbitrary::*;
        use proptest::prelude::*;
        use proptest::sample::{select, subsequence};

        /// Each resource attribute, by name (strategies need `Debug` values).
        const KINDS: &[&str] = &["kv_store", "topic"];

        /// The kind an attribute declares, and a static it goes on.
        fn kind(attribute: &str) -> (&'static ResourceKind, &'static str) {
            match attribute {
                "kv_store" => (&KV_STORE, "static STORE: KvStore<Profile>;"),
                _ => (&TOPIC, "static UPDATES: Topic<Update>;"),
            }
        }

        fn parse_tokens(kind: &ResourceKind, tokens: &TokenStream) -> syn::Result<ResourceArgs> {
            Parser::parse2(
                |input: ParseStream| ResourceArgs::parse(kind, input),
                tokens.clone(),
            )
        }

        /// A kind, and at least `fewest` of its permissions in any order.
        fn kind_and_permissions(
            fewest: usize,
        ) -> impl Strategy<Value = (&'static str, Vec<(&'static str, &'static str)>)> {
            select(KINDS).prop_flat_map(move |attribute| {
                let all = kind(attribute).0.permissions.to_vec();
                let count = all.len();
                subsequence(all, fewest..=count)
                    .prop_shuffle()
                    .prop_map(move |chosen| (attribute, chosen))
            })
        }

        proptest! {
            #[test]
            fn never_panics_and_keeps_the_static(
                args in any_args(),
                attribute in select(KINDS),
            ) {
                let (kind, item) = kind(attribute);
                let Some(args) = lex(&args) else { return Ok(()) };
                let _ = parse_tokens(kind, &args);
                let expanded = expand(kind, args, tokens(item));
                let file = syn::parse2::<syn::File>(expanded.clone())
                    .map_err(|error| TestCaseError::fail(format!("{error}: {expanded}")))?;
                prop_assert!(
                    matches!(&file.items[..], [syn::Item::Static(_)]),
                    "not one static: {}", expanded
                );
            }

            #[test]
            fn any_valid_name_and_permissions_round_trip(
                name in valid_name(),
                (attribute, permissions) in kind_and_permissions(0),
                trailing_comma in any::<bool>(),
            ) {
                let kind = kind(attribute).0;
                let words: Vec<&str> = permissions.iter().map(|(word, _)| *word).collect();
                let comma = if trailing_comma && !words.is_empty() { "," } else { "" };
                let source = format!("{}, allow = [{}{comma}]", string_literal(&name), words.join(", "));
                let parsed = parse_tokens(kind, &tokens(&source));
                if words.is_empty() && kind.permissions_required {
                    prop_assert!(parsed.is_err(), "{} was accepted", source);
                } else {
                    let parsed = parsed.map_err(|error| TestCaseError::fail(format!("{source}: {error}")))?;
                    let variants: Vec<&str> = permissions.iter().map(|(_, variant)| *variant).collect();
                    prop_assert_eq!(parsed.name.value, name);
                    prop_assert_eq!(parsed.permissions, variants);
                }
            }

            #[test]
            fn an_invalid_name_is_the_one_error_and_points_at_the_name(
                name in invalid_name(),
                attribute in select(KINDS),
            ) {
                let kind = kind(attribute).0;
                let word = kind.permissions[0].0;
                let source = format!("{}, allow = [{word}]", string_literal(&name));
                let tokens = tokens(&source);
                let errors = placed_errors(parse_tokens(kind, &tokens).err().expect("refused"));
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                prop_assert_eq!(errors[0].0, place_of_token(&tokens, 0));
                prop_assert!(errors[0].1.contains(&format!("{} name", kind.noun)), "{}", errors[0].1);
            }

            #[test]
            fn a_repeated_permission_is_reported_on_its_second_mention(
                (attribute, mut permissions) in kind_and_permissions(1),
                repeat in any::<prop::sample::Index>(),
            ) {
                let kind = kind(attribute).0;
                let repeated = permissions[repeat.index(permissions.len())];
                permissions.push(repeated);
                let words: Vec<&str> = permissions.iter().map(|(word, _)| *word).collect();
                let source = format!("\"things\", allow = [{}]", words.join(", "));
                let tokens = tokens(&source);
                let errors = placed_errors(parse_tokens(kind, &tokens).err().expect("refused"));
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                let list = tokens.clone().into_iter().nth(4).expect("the brackets");
                let proc_macro2::TokenTree::Group(list) = list else { panic!("not a group") };
                let last = list.stream().into_iter().last().expect("a word");
                prop_assert_eq!(errors[0].0, (last.span().start(), last.span().end()));
                prop_assert_eq!(&errors[0].1, &format!("`{}` is listed twice", repeated.0));
            }
        }
    }
}
