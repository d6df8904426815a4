//! `#[kv_store("name", allow = [get, set, delete])]` on
//! `static NAME: KvStore<T>;`: declares a key/value store and the
//! permissions this service needs on it, and gives the static its value.

use crate::resource_static::{self, ResourceKind};
use proc_macro2::TokenStream;

pub(crate) const KV_STORE: ResourceKind = ResourceKind {
    attribute: "kv_store",
    noun: "key/value store",
    permission_noun: "key/value",
    client: "KvStore<T>",
    usage: "#[kv_store(\"profiles\", allow = [get, set])]",
    allow_example: "allow = [get, set]",
    permissions: &[("get", "Get"), ("set", "Set"), ("delete", "Delete")],
    permissions_required: true,
    permission_enum: "KvPermission",
    declaration_type: "KvStoreDeclaration",
    declaration_variant: "KvStore",
    client_type: "KvStore",
};

/// Expands `#[kv_store(...)]`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    resource_static::expand(&KV_STORE, args, item)
}
