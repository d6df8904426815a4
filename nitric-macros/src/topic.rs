//! `#[topic("name", allow = [publish])]` on `static NAME: Topic<T>;`:
//! declares a topic, and the permission to publish to it when asked for
//! (subscribing needs none), and gives the static its value.

use crate::resource_static::{self, Client, ResourceKind};
use crate::runtime_contract;
use proc_macro2::TokenStream;

pub(crate) const TOPIC: ResourceKind = ResourceKind {
    attribute: "topic",
    noun: "topic",
    permission_noun: "topic",
    client: "Topic<T>",
    usage: "#[topic(\"updates\", allow = [publish])]",
    allow_example: "allow = [publish]",
    permissions: &[("publish", "Publish")],
    permissions_required: false,
    permission_enum: runtime_contract::TOPIC_PERMISSION,
    declaration_type: runtime_contract::TOPIC_DECLARATION,
    declaration_variant: "Topic",
    client_value: Client::Type(runtime_contract::TOPIC),
};

/// Expands `#[topic(...)]`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    resource_static::expand(&TOPIC, args, item)
}
