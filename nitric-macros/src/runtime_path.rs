//! The one place that names the runtime crate in generated code.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitStr, Path};

/// Path of the runtime crate: `::nitric_runtime` unless the user renamed the
/// dependency and said so with `crate = "..."`.
pub(crate) struct RuntimePath(Option<Path>);

impl RuntimePath {
    pub(crate) const DEFAULT: Self = Self(None);

    /// Parses the value of a `crate = "..."` argument.
    pub(crate) fn parse(literal: &LitStr) -> syn::Result<Self> {
        literal.parse::<Path>().map(|path| Self(Some(path))).map_err(|_| {
            syn::Error::new(
                literal.span(),
                format!(
                    "`crate` expects the path of the nitric runtime crate, such as \"::nitric_runtime\"; {:?} is not a path",
                    literal.value()
                ),
            )
        })
    }

    /// `<runtime>::__private`, the hidden module every generated item uses.
    pub(crate) fn private(&self) -> TokenStream {
        match &self.0 {
            Some(path) => quote!(#path::__private),
            None => quote!(::nitric_runtime::__private),
        }
    }
}
