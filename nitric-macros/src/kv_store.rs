//! `#[kv_store("name", allow = [get, set, delete])]` on
//! `static NAME: KvStore<T>;` (or `Rooms`, `ConnectionState<T>`: any
//! `KvClient`): declares a key/value store and the permissions this service
//! needs on it, and gives the static its value.

use crate::resource_static::{self, Client, ResourceKind};
use crate::runtime_contract;
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
    permission_enum: runtime_contract::KV_PERMISSION,
    declaration_type: runtime_contract::KV_STORE_DECLARATION,
    declaration_variant: "KvStore",
    client_value: Client::ChosenByType(runtime_contract::KV_CLIENT),
};

/// Expands `#[kv_store(...)]`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    resource_static::expand(&KV_STORE, args, item)
}
