//! The contract between generated code and the runtime, in one place.
//!
//! Generated code names the runtime only through `<runtime>::__private`,
//! which it brings in as `__nitric` with [`RuntimePath::import`]. Every item
//! it names there is one constant below, and `nitric-runtime/src/__private.rs`
//! re-exports exactly these items, in the same order: the two lists mirror
//! each other (a test below compares them), so renaming a runtime item means
//! changing its constant here and its re-export there, nothing else.
//!
//! Enum variants are named beside what chooses them: the websocket adapter's
//! by `websocket::OnEvent::adapter_variant`, a resource's permissions and its
//! `ResourceDeclaration` variant in its `ResourceKind`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Ident, LitStr, Path};

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

    /// `use <runtime>::__private as __nitric;`, the one import of every
    /// block of generated code; each [`RuntimeItem`] is written through it.
    pub(crate) fn import(&self) -> TokenStream {
        let alias = Ident::new(ALIAS, Span::call_site());
        match &self.0 {
            Some(path) => quote!(use #path::__private as #alias;),
            None => quote!(use ::nitric_runtime::__private as #alias;),
        }
    }
}

/// The name generated code gives `<runtime>::__private`.
const ALIAS: &str = "__nitric";

/// One item of `<runtime>::__private`; it is written `__nitric::Name`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuntimeItem {
    name: &'static str,
    span: Option<Span>,
}

impl RuntimeItem {
    const fn new(name: &'static str) -> Self {
        Self { name, span: None }
    }

    /// The item's name, for messages.
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// The item written with `span` rather than the attribute's, for code
    /// spanned to the user's tokens: `quote_spanned!` spans only the tokens
    /// it spells, and an error on an expression mixing spans falls back to
    /// the attribute.
    pub(crate) fn spanned(self, span: Span) -> Self {
        Self {
            span: Some(span),
            ..self
        }
    }
}

impl ToTokens for RuntimeItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let span = self.span.unwrap_or_else(Span::call_site);
        let alias = Ident::new(ALIAS, span);
        let name = Ident::new(self.name, span);
        tokens.extend(quote_spanned!(span=> #alias::#name));
    }
}

// Registration: every adapter and declaration is submitted to `inventory`
// with the place it was written.

/// `Source::new(item, file!(), line!())`.
pub(crate) const SOURCE: RuntimeItem = RuntimeItem::new("Source");
/// `inventory::submit! { ... }`.
pub(crate) const INVENTORY: RuntimeItem = RuntimeItem::new("inventory");

// Every handler's adapter: `fn(input) -> BoxFuture<HandlerResult>`, turning
// the user's output into a result with `into_handler_result`.

/// The adapter's return type, `BoxFuture<HandlerResult>`.
pub(crate) const BOX_FUTURE: RuntimeItem = RuntimeItem::new("BoxFuture");
/// See [`BOX_FUTURE`].
pub(crate) const HANDLER_RESULT: RuntimeItem = RuntimeItem::new("HandlerResult");
/// `<Output as IntoHandlerResult>::into_handler_result(output)`.
pub(crate) const INTO_HANDLER_RESULT: RuntimeItem = RuntimeItem::new("IntoHandlerResult");

// `#[websocket]`: the adapter takes the event's context and hands it over
// with `from_context`; the registration is
// `WebsocketFunction::new(socket, WebsocketAdapter::Variant(adapter), source)`.

/// `<Parameter as FromContext<Context>>::from_context(context)`.
pub(crate) const FROM_CONTEXT: RuntimeItem = RuntimeItem::new("FromContext");
/// The adapter's fn pointer, by event.
pub(crate) const WEBSOCKET_ADAPTER: RuntimeItem = RuntimeItem::new("WebsocketAdapter");
/// The registration of one `#[websocket]` function.
pub(crate) const WEBSOCKET_FUNCTION: RuntimeItem = RuntimeItem::new("WebsocketFunction");
/// The input of a `connect` adapter.
pub(crate) const CONNECT_CONTEXT: RuntimeItem = RuntimeItem::new("ConnectContext");
/// The input of a `disconnect` adapter.
pub(crate) const DISCONNECT_CONTEXT: RuntimeItem = RuntimeItem::new("DisconnectContext");
/// The input of a `message` adapter.
pub(crate) const MESSAGE_CONTEXT: RuntimeItem = RuntimeItem::new("MessageContext");

// `#[subscribe]`: the adapter takes the message and reads the payload with
// `from_topic_event`; the registration is
// `SubscribeFunction::new(topic, adapter, source)`.

/// The registration of one `#[subscribe]` function.
pub(crate) const SUBSCRIBE_FUNCTION: RuntimeItem = RuntimeItem::new("SubscribeFunction");
/// `<Payload as FromTopicEvent>::from_topic_event(message)`.
pub(crate) const FROM_TOPIC_EVENT: RuntimeItem = RuntimeItem::new("FromTopicEvent");
/// The input of a subscriber's adapter.
pub(crate) const TOPIC_EVENT: RuntimeItem = RuntimeItem::new("TopicEvent");

// `#[schedule]`: the adapter takes the firing's context and hands it over
// with `from_schedule_context`; the registration is
// `ScheduleFunction::every(name, rate, adapter, source)` or
// `ScheduleFunction::cron(name, expression, adapter, source)`.

/// The registration of one `#[schedule]` function.
pub(crate) const SCHEDULE_FUNCTION: RuntimeItem = RuntimeItem::new("ScheduleFunction");
/// `<Parameter as FromScheduleContext>::from_schedule_context(context)`.
pub(crate) const FROM_SCHEDULE_CONTEXT: RuntimeItem = RuntimeItem::new("FromScheduleContext");
/// The input of a schedule's adapter.
pub(crate) const SCHEDULE_CONTEXT: RuntimeItem = RuntimeItem::new("ScheduleContext");

// Resource statics: `static DECLARATION: XDeclaration = XDeclaration::new(
// name, &[XPermission::..], source)`, submitted as
// `ResourceDeclaration::X(&DECLARATION)`, and the static's value
// `Client::declared(&DECLARATION)`; for `#[kv_store]`, the static's type is
// the client: `.with_client(<Type as KvClient>::NEEDS)` on the declaration,
// `<Type>::declared(&DECLARATION)` as the value.

/// What a resource static submits.
pub(crate) const RESOURCE_DECLARATION: RuntimeItem = RuntimeItem::new("ResourceDeclaration");
/// `#[kv_store]`'s permissions.
pub(crate) const KV_PERMISSION: RuntimeItem = RuntimeItem::new("KvPermission");
/// `#[kv_store]`'s declaration.
pub(crate) const KV_STORE_DECLARATION: RuntimeItem = RuntimeItem::new("KvStoreDeclaration");
/// `#[topic]`'s declaration.
pub(crate) const TOPIC_DECLARATION: RuntimeItem = RuntimeItem::new("TopicDeclaration");
/// `#[topic]`'s permissions.
pub(crate) const TOPIC_PERMISSION: RuntimeItem = RuntimeItem::new("TopicPermission");
/// `#[topic]`'s client.
pub(crate) const TOPIC: RuntimeItem = RuntimeItem::new("Topic");
/// The trait of `#[kv_store]`'s clients.
pub(crate) const KV_CLIENT: RuntimeItem = RuntimeItem::new("KvClient");

// Typed parameters of `#[websocket]` handlers, after the context, each read
// through a hidden trait method that boxes the rejection, so generated code
// names no associated type: a connect handler's guard,
// `<G as FromConnect>::__guard_for_handler(&context).await`, and a message
// handler's payload, `<P as FromMessage>::__read_for_handler(&context)`.

/// `<Guard as FromConnect>::__guard_for_handler(&context)`.
pub(crate) const FROM_CONNECT: RuntimeItem = RuntimeItem::new("FromConnect");
/// `<Payload as FromMessage>::__read_for_handler(&context)`.
pub(crate) const FROM_MESSAGE: RuntimeItem = RuntimeItem::new("FromMessage");

// `#[api]`: the adapter takes the request's context with `from_context`,
// reads a second parameter with `<T as FromRequest>::from_request(&context)`
// (a rejection is the answer) and turns the output into an `ApiResult`
// with `<Output as IntoApiResult>::into_api_result(output)`; the
// registration is `ApiFunction::new(api, method, path, adapter, source)`.

/// What an `#[api]` adapter's future comes to.
pub(crate) const API_RESULT: RuntimeItem = RuntimeItem::new("ApiResult");
/// `<T as FromRequest>::from_request(&context)`.
pub(crate) const FROM_REQUEST: RuntimeItem = RuntimeItem::new("FromRequest");
/// The input of an `#[api]` adapter.
pub(crate) const HTTP_CONTEXT: RuntimeItem = RuntimeItem::new("HttpContext");
/// `<Output as IntoApiResult>::into_api_result(output)`.
pub(crate) const INTO_API_RESULT: RuntimeItem = RuntimeItem::new("IntoApiResult");
/// The registration of one `#[api]` route.
pub(crate) const API_FUNCTION: RuntimeItem = RuntimeItem::new("ApiFunction");

// Action handlers, `#[websocket(socket, on = "message", action = "...")]`:
// the adapter turns the output into the reply's response with
// `<Output as IntoActionResult>::into_action_result(output)`, and the
// registration is `WebsocketFunction::new(socket, WebsocketAdapter::Action(
// adapter), source).with_action(action)`.

/// What an action adapter's future comes to.
pub(crate) const ACTION_RESULT: RuntimeItem = RuntimeItem::new("ActionResult");
/// `<Output as IntoActionResult>::into_action_result(output)`.
pub(crate) const INTO_ACTION_RESULT: RuntimeItem = RuntimeItem::new("IntoActionResult");

/// Every item above, in order, for the test that `__private.rs` mirrors
/// this file.
#[cfg(test)]
const ALL: &[RuntimeItem] = &[
    SOURCE,
    INVENTORY,
    BOX_FUTURE,
    HANDLER_RESULT,
    INTO_HANDLER_RESULT,
    FROM_CONTEXT,
    WEBSOCKET_ADAPTER,
    WEBSOCKET_FUNCTION,
    CONNECT_CONTEXT,
    DISCONNECT_CONTEXT,
    MESSAGE_CONTEXT,
    SUBSCRIBE_FUNCTION,
    FROM_TOPIC_EVENT,
    TOPIC_EVENT,
    SCHEDULE_FUNCTION,
    FROM_SCHEDULE_CONTEXT,
    SCHEDULE_CONTEXT,
    RESOURCE_DECLARATION,
    KV_PERMISSION,
    KV_STORE_DECLARATION,
    TOPIC_DECLARATION,
    TOPIC_PERMISSION,
    TOPIC,
    KV_CLIENT,
    FROM_CONNECT,
    FROM_MESSAGE,
    API_RESULT,
    FROM_REQUEST,
    HTTP_CONTEXT,
    INTO_API_RESULT,
    API_FUNCTION,
    ACTION_RESULT,
    INTO_ACTION_RESULT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{Item, UseTree};

    /// The names a `use` item brings in, in the order written.
    fn leaves(tree: &UseTree, names: &mut Vec<String>) {
        match tree {
            UseTree::Path(path) => leaves(&path.tree, names),
            UseTree::Name(name) => names.push(name.ident.to_string()),
            UseTree::Rename(rename) => names.push(rename.rename.to_string()),
            UseTree::Group(group) => group.items.iter().for_each(|tree| leaves(tree, names)),
            UseTree::Glob(_) => names.push("*".to_owned()),
        }
    }

    #[test]
    fn the_runtime_re_exports_exactly_these_items_in_this_order() {
        let file = syn::parse_file(include_str!("../../nitric-runtime/src/__private.rs"))
            .expect("__private.rs parses");
        let mut exported = Vec::new();
        for item in &file.items {
            if let Item::Use(item) = item {
                leaves(&item.tree, &mut exported);
            }
        }
        let contract: Vec<&str> = ALL.iter().map(|item| item.name()).collect();
        assert_eq!(exported, contract);
    }

    #[test]
    fn items_are_written_through_the_alias() {
        assert_eq!(quote!(#FROM_CONTEXT).to_string(), "__nitric :: FromContext");
        assert_eq!(
            RuntimePath::DEFAULT.import().to_string(),
            "use :: nitric_runtime :: __private as __nitric ;"
        );
    }
}
