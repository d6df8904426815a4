//! Attribute macros for Nitric applications.
//!
//! Use them through [`nitric-runtime`](https://docs.rs/nitric-runtime), which
//! re-exports them. Each attribute lives in its own module with an `expand`
//! function; this file holds only the documented entry points, each showing
//! what `cargo expand` prints for it. Generated code names only
//! `::nitric_runtime::__private`, and every item it names there is listed in
//! `runtime_contract.rs`.

#![warn(missing_docs)]

mod api;
#[cfg(test)]
mod arbitrary;
mod attribute_args;
mod diagnostics;
mod handler_fn;
mod kv_store;
mod resource_name;
mod resource_static;
mod runtime_contract;
mod schedule;
mod subscribe;
mod topic;
mod websocket;

use proc_macro::TokenStream;

/// Registers an `async fn` as the handler of one websocket event.
///
/// ```
/// use nitric_runtime::websocket::MessageContext;
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn echo(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     ctx.socket().send(ctx.connection_id(), ctx.body()).await
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The socket name, a string literal: letters, digits, `-` and `_`,
///   starting with a letter. The socket is declared with the membrane, and
///   this service is given permission to manage its connections.
/// - `on = "connect" | "disconnect" | "message"`: the event handled. A socket
///   needs one handler of each; the runtime refuses to start otherwise.
/// - `action = "join"` (optional, with `on = "message"`): the handler of
///   JSON messages whose `"action"` field is `"join"`. It returns `()`,
///   `Json<T>` or a `Result` of either, which becomes the reply
///   `{"ref": .., "status": "ok" | "error", "response": ..}` to a message
///   carrying a `"ref"`. A socket may have many action handlers and at most
///   one message handler without an action, which takes the rest. Two
///   handlers of one action in one module fail to compile; in different
///   modules, to start (see `docs/actions.md`):
///
///   ```
///   use nitric_runtime::websocket::{Json, MessageContext};
///
///   #[nitric_runtime::websocket("public", on = "message", action = "join")]
///   async fn join(ctx: MessageContext) -> Json<String> {
///       Json(format!("welcome, {}", ctx.connection_id()))
///   }
///   # fn main() {}
///   ```
///
///   ```compile_fail
///   use nitric_runtime::websocket::MessageContext;
///
///   #[nitric_runtime::websocket("public", on = "message", action = "join")]
///   async fn join(ctx: MessageContext) {}
///
///   // error[E0428]: the name `__nitric_action_join_of_socket_public_has_two_handlers` is defined multiple times
///   #[nitric_runtime::websocket("public", on = "message", action = "join")]
///   async fn enter(ctx: MessageContext) {}
///   # fn main() {}
///   ```
/// - `field = "type"` (optional, with `action`): read the action from this
///   JSON field instead of `"action"`. Every action handler of a socket
///   names the same field; the runtime refuses to start otherwise.
///
///   ```
///   use nitric_runtime::websocket::MessageContext;
///
///   /// `{"type": "join", "ref": "1"}`
///   #[nitric_runtime::websocket("public", on = "message", action = "join", field = "type")]
///   async fn join(ctx: MessageContext) {}
///   # fn main() {}
///   ```
/// - `timeout = "30s"` (optional): how long one run may take, read as
///   `humantime` reads durations (`"500ms"`, `"30s"`, `"2 minutes"`,
///   `"1m 30s"`); past it the run is abandoned and counts as failed (a
///   connect is refused, an action replies with an error). Without it a
///   run may take as long as the membrane waits (29 s on AWS).
/// - `crate = "path"` (optional): where the runtime crate is, when the
///   dependency is renamed in `Cargo.toml`.
///
/// # The function
///
/// A free `async fn` whose first parameter, if any, is the event's context:
/// [`ConnectContext`], [`DisconnectContext`] or [`MessageContext`] for
/// `connect`, `disconnect` and `message`. It returns `()` or
/// `Result<(), E>` where `E` converts into `Box<dyn Error + Send + Sync>`.
/// An `Err` (or a panic) from a connect handler refuses the connection.
///
/// A second parameter, any pattern, is read before the handler runs:
///
/// - on `message`, the payload: any [`FromMessage`] type, such as
///   `Json<T>` for a JSON message read into `T`, `String`, or
///   `Result<Json<T>, PayloadError>`. A message that does not fit is logged
///   and the handler does not run;
/// - on `connect`, a guard: any [`FromConnect`] type, such as `Query<T>`, or
///   one of your own. A guard that refuses refuses the connection, and the
///   handler does not run.
///
/// ```
/// use nitric_runtime::websocket::{ConnectContext, Json, MessageContext, Query};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Join {
///     room: String,
/// }
///
/// #[derive(Deserialize)]
/// struct Chat {
///     text: String,
/// }
///
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn connect(ctx: ConnectContext, Query(join): Query<Join>) {
///     println!("{} joins {}", ctx.connection_id(), join.room);
/// }
///
/// #[nitric_runtime::websocket("public", on = "message")]
/// async fn chat(ctx: MessageContext, Json(chat): Json<Chat>) {
///     println!("{} says {}", ctx.connection_id(), chat.text);
/// }
/// # fn main() {}
/// ```
///
/// The adapter reads the second parameter from the borrowed context before
/// handing the context over, with `<Json<Chat> as FromMessage>` or
/// `<Query<Join> as FromConnect>` (through a hidden method of each trait
/// that boxes the rejection), and returns early on an error, so the
/// function does not run. A type without the trait is a compile error on
/// the parameter's type, with the trait's explanation.
///
/// [`ConnectContext`]: https://docs.rs/nitric-runtime/latest/nitric_runtime/websocket/struct.ConnectContext.html
/// [`DisconnectContext`]: https://docs.rs/nitric-runtime/latest/nitric_runtime/websocket/struct.DisconnectContext.html
/// [`MessageContext`]: https://docs.rs/nitric-runtime/latest/nitric_runtime/websocket/struct.MessageContext.html
/// [`FromMessage`]: https://docs.rs/nitric-runtime/latest/nitric_runtime/websocket/trait.FromMessage.html
/// [`FromConnect`]: https://docs.rs/nitric-runtime/latest/nitric_runtime/websocket/trait.FromConnect.html
///
/// # What it expands to
///
/// What `cargo expand` prints for the example above, in `src/main.rs`: the
/// function as written, then one `const _` block, so no name leaks, holding
/// the adapter the runtime calls through a fn pointer and its registration.
/// Trimmed of one thing: `inventory::submit!` is shown as written, not as
/// its own expansion (a static list node and a constructor in a linker
/// section), which says nothing about this crate.
///
/// ```text
/// async fn echo(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     ctx.socket().send(ctx.connection_id(), ctx.body()).await
/// }
/// const _: () = {
///     use ::nitric_runtime::__private as __nitric;
///     #[doc(hidden)]
///     fn __nitric_adapter(
///         __nitric_input: __nitric::MessageContext,
///     ) -> __nitric::BoxFuture<__nitric::HandlerResult> {
///         ::std::boxed::Box::pin(async move {
///             let __nitric_output: Result<(), nitric_runtime::Error> = echo(
///                     <MessageContext as __nitric::FromContext<
///                         __nitric::MessageContext,
///                     >>::from_context(__nitric_input),
///                 )
///                 .await;
///             <Result<
///                 (),
///                 nitric_runtime::Error,
///             > as __nitric::IntoHandlerResult>::into_handler_result(__nitric_output)
///         })
///     }
///     __nitric::inventory::submit! {
///         __nitric::WebsocketFunction::new(
///             "public",
///             __nitric::WebsocketAdapter::Message(__nitric_adapter),
///             __nitric::Source::new("echo", "src/main.rs", 3u32),
///         )
///     }
/// };
/// ```
///
/// The runtime collects every `WebsocketFunction` when it starts and calls
/// the adapter with each event's context; the adapter converts it into the
/// function's parameter with `FromContext`, a trait whose error message says
/// which context the event needs.
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // `mesage` is not an event: "did you mean \"message\"?"
/// #[nitric_runtime::websocket("public", on = "mesage")]
/// async fn echo(ctx: nitric_runtime::websocket::MessageContext) {}
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // A connect handler receives a `ConnectContext`, not a `MessageContext`.
/// #[nitric_runtime::websocket("public", on = "connect")]
/// async fn hello(ctx: nitric_runtime::websocket::MessageContext) {}
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // A disconnect handler takes only its context: a payload goes on a
/// // message handler, a guard on a connect handler.
/// #[nitric_runtime::websocket("public", on = "disconnect")]
/// async fn bye(
///     ctx: nitric_runtime::websocket::DisconnectContext,
///     text: String,
/// ) {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn websocket(args: TokenStream, item: TokenStream) -> TokenStream {
    websocket::expand(args.into(), item.into()).into()
}

/// Declares a key/value store, the permissions this service needs on it, and
/// a static client for it.
///
/// ```
/// use nitric_runtime::kv::KvStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// #[nitric_runtime::kv_store("profiles", allow = [get, set])]
/// static PROFILES: KvStore<Profile>;
///
/// async fn rename(id: &str, name: &str) -> Result<(), nitric_runtime::Error> {
///     PROFILES.set(id, &Profile { name: name.to_owned() }).await
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The store name, a string literal, named like sockets.
/// - `allow = [...]`: any of `get`, `set`, `delete`, at least one. Each maps
///   to a Nitric action (`KeyValueStoreRead`, `KeyValueStoreWrite`,
///   `KeyValueStoreDelete`); the client refuses calls not allowed here.
///   `Rooms` and `ConnectionState<T>` need all three; one missing fails the
///   build.
/// - `crate = "path"` (optional): where the runtime crate is, when renamed.
///
/// # The item
///
/// `static NAME: Client;` with no initializer, where the static's type picks
/// the client (any implementation of `nitric_runtime::kv::KvClient`):
/// `KvStore<T>`, where `T` is any `Serialize + DeserializeOwned` type that
/// serializes to a JSON object; `Rooms`; or `ConnectionState<T>` (any
/// serde `T`). The runtime deletes a connection's data from the last two
/// when it disconnects or its connect is refused.
///
/// # What it expands to
///
/// What `cargo expand` prints for the example above, in `src/main.rs`: the
/// static's value is a block declaring the store once and registering the
/// declaration, so the client can refuse calls the declaration does not
/// allow. `with_client` takes what the static's type needs (the
/// permissions it cannot work without, checked as the static is compiled,
/// and its cleanup after a disconnect, if any). Trimmed of one thing: `inventory::submit!` is shown as written,
/// not as its own expansion (a static list node and a constructor in a
/// linker section), which says nothing about this crate.
///
/// ```text
/// static PROFILES: KvStore<Profile> = {
///     use ::nitric_runtime::__private as __nitric;
///     static DECLARATION: __nitric::KvStoreDeclaration = __nitric::KvStoreDeclaration::new(
///         "profiles",
///         &[__nitric::KvPermission::Get, __nitric::KvPermission::Set],
///         __nitric::Source::new("PROFILES", "src/main.rs", 9u32),
///     )
///     .with_client(<KvStore<Profile> as __nitric::KvClient>::NEEDS);
///     __nitric::inventory::submit! {
///         __nitric::ResourceDeclaration::KvStore(&DECLARATION)
///     }
///     <KvStore<Profile>>::declared(&DECLARATION)
/// };
/// ```
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // `update` is not a permission: expected one of `get`, `set`, `delete`.
/// #[nitric_runtime::kv_store("profiles", allow = [get, update])]
/// static PROFILES: nitric_runtime::kv::KvStore<serde_json::Value>;
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // a `Rooms` static needs allow = [get, set, delete]
/// #[nitric_runtime::kv_store("rooms", allow = [get, set])]
/// static ROOMS: nitric_runtime::connection::Rooms;
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn kv_store(args: TokenStream, item: TokenStream) -> TokenStream {
    kv_store::expand(args.into(), item.into()).into()
}

/// Declares a topic and a static client that publishes typed messages to it.
///
/// ```
/// use nitric_runtime::topic::Topic;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Order {
///     id: u64,
/// }
///
/// #[nitric_runtime::topic("orders", allow = [publish])]
/// static ORDERS: Topic<Order>;
///
/// async fn place(id: u64) -> Result<(), nitric_runtime::Error> {
///     ORDERS.publish(&Order { id }).await
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The topic name, a string literal, named like sockets.
/// - `allow = [publish]` (optional): ask for the `TopicPublish` action.
///   Without it the topic is declared but publishing fails with
///   `Error::NotAllowed`; subscribing needs no permission.
/// - `crate = "path"` (optional): where the runtime crate is, when renamed.
///
/// # The item
///
/// `static NAME: Topic<T>;` with no initializer, where `T` is any
/// `Serialize` type that serializes to a JSON object.
///
/// # What it expands to
///
/// What `cargo expand` prints for the example above, in `src/main.rs`: the
/// static's value is a block declaring the topic once and registering the
/// declaration, so the client can refuse calls the declaration does not
/// allow. Trimmed of one thing: `inventory::submit!` is shown as written,
/// not as its own expansion (a static list node and a constructor in a
/// linker section), which says nothing about this crate.
///
/// ```text
/// static ORDERS: Topic<Order> = {
///     use ::nitric_runtime::__private as __nitric;
///     static DECLARATION: __nitric::TopicDeclaration = __nitric::TopicDeclaration::new(
///         "orders",
///         &[__nitric::TopicPermission::Publish],
///         __nitric::Source::new("ORDERS", "src/main.rs", 9u32),
///     );
///     __nitric::inventory::submit! {
///         __nitric::ResourceDeclaration::Topic(&DECLARATION)
///     }
///     __nitric::Topic::declared(&DECLARATION)
/// };
/// ```
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // `send` is not a topic permission: expected one of `publish`.
/// #[nitric_runtime::topic("orders", allow = [send])]
/// static ORDERS: nitric_runtime::topic::Topic<serde_json::Value>;
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn topic(args: TokenStream, item: TokenStream) -> TokenStream {
    topic::expand(args.into(), item.into()).into()
}

/// Registers an `async fn` as the handler of one route of an HTTP API.
///
/// ```
/// use nitric_runtime::api::{HttpContext, Json, Response};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Message {
///     text: String,
/// }
///
/// #[nitric_runtime::api("main", get = "/rooms/:room")]
/// async fn room(ctx: HttpContext) -> String {
///     format!("welcome to {}", ctx.param("room").unwrap_or_default())
/// }
///
/// #[nitric_runtime::api("main", post = "/rooms/:room/messages", timeout = "5s")]
/// async fn post(ctx: HttpContext, Json(message): Json<Message>) -> Result<Response, nitric_runtime::Error> {
///     println!("{} in {:?}", message.text, ctx.param("room"));
///     Ok(Response::new(202))
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The API name, a string literal, named like sockets. The API is
///   declared with the membrane as the official SDKs declare `api(name)`.
/// - One route: `get`, `post`, `put`, `patch`, `delete` or `options`
///   `= "/path"`. The
///   path starts with `/`; a segment `:name` is a parameter, read with
///   `ctx.param("name")`. A function answers one method of one path; two
///   functions for the same method and path (parameter names aside) of one
///   API make the runtime refuse to start, naming both.
/// - `timeout = "30s"` (optional): how long one run may take; past it the
///   request is answered 500.
/// - `crate = "path"` (optional): where the runtime crate is, when renamed.
///
/// # The function
///
/// A free `async fn` taking at most two parameters: the request's
/// [`HttpContext`](../nitric_runtime/api/struct.HttpContext.html), then a
/// value read from the request before the handler runs (any `FromRequest`
/// type: `Json<T>` answers 400 to a body that is not a JSON `T`). It
/// returns anything implementing `IntoResponse` (`Response`, `String`,
/// `&'static str`, `Json<T>`, `(u16, R)`, `()` for 204), or `Result<R, E>`:
/// an `Err`, a panic or a timeout is logged and answered 500.
///
/// # What it expands to
///
/// As for `#[subscribe]`: the function as written, then one `const _`
/// block holding the adapter (`fn(HttpContext) -> BoxFuture<ApiResult>`,
/// reading the parameters with `FromContext` and `FromRequest` and the
/// output with `IntoApiResult`) and its registration,
/// `ApiFunction::new("main", "GET", "/rooms/:room", __nitric_adapter, Source::new(..))`.
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // The path must start with `/`.
/// #[nitric_runtime::api("main", get = "rooms")]
/// async fn rooms(ctx: nitric_runtime::api::HttpContext) {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn api(args: TokenStream, item: TokenStream) -> TokenStream {
    api::expand(args.into(), item.into()).into()
}

/// Registers an `async fn` as this service's subscriber of a topic.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Order {
///     id: u64,
/// }
///
/// #[nitric_runtime::subscribe("orders")]
/// async fn ship(order: Order) -> Result<(), nitric_runtime::BoxError> {
///     println!("shipping order {}", order.id);
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The topic name, a string literal. The topic is declared with the
///   membrane too, as the official SDKs do for a subscription.
/// - `timeout = "30s"` (optional): how long one run may take; past it the
///   run is abandoned and the message delivered again.
/// - `crate = "path"` (optional): where the runtime crate is, when renamed.
///
/// # The function
///
/// A free `async fn` taking at most one parameter, the payload: any type
/// that implements `serde::Deserialize` (`serde_json::Value` takes anything).
/// It returns `()` or `Result<(), E>` like a websocket handler. An `Err`, a
/// panic, or a payload that does not deserialize answers `success = false`,
/// and the membrane delivers the message again. A service has at most one
/// subscriber per topic; the runtime refuses to start otherwise.
///
/// # What it expands to
///
/// What `cargo expand` prints for the example above, in `src/main.rs`: the
/// function as written, then one `const _` block, so no name leaks, holding
/// the adapter the runtime calls through a fn pointer and its registration.
/// Trimmed of one thing: `inventory::submit!` is shown as written, not as
/// its own expansion (a static list node and a constructor in a linker
/// section), which says nothing about this crate.
///
/// ```text
/// async fn ship(order: Order) -> Result<(), nitric_runtime::BoxError> {
///     {
///         ::std::io::_print(format_args!("shipping order {0}\n", order.id));
///     };
///     Ok(())
/// }
/// const _: () = {
///     use ::nitric_runtime::__private as __nitric;
///     #[doc(hidden)]
///     fn __nitric_adapter(
///         __nitric_input: __nitric::TopicEvent,
///     ) -> __nitric::BoxFuture<__nitric::HandlerResult> {
///         ::std::boxed::Box::pin(async move {
///             let __nitric_output: Result<(), nitric_runtime::BoxError> = ship(
///                     match <Order as __nitric::FromTopicEvent>::from_topic_event(
///                         __nitric_input,
///                     ) {
///                         ::core::result::Result::Ok(payload) => payload,
///                         ::core::result::Result::Err(error) => {
///                             return ::core::result::Result::Err(error.into());
///                         }
///                     },
///                 )
///                 .await;
///             <Result<
///                 (),
///                 nitric_runtime::BoxError,
///             > as __nitric::IntoHandlerResult>::into_handler_result(__nitric_output)
///         })
///     }
///     __nitric::inventory::submit! {
///         __nitric::SubscribeFunction::new(
///             "orders",
///             __nitric_adapter,
///             __nitric::Source::new("ship", "src/main.rs", 8u32),
///         )
///     }
/// };
/// ```
///
/// (`println!` is expanded too, as `cargo expand` expands every macro in
/// the function.) A payload that does not deserialize makes the adapter
/// return an error before the function runs, and the membrane delivers the
/// message again.
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // A subscriber's parameter must implement `serde::Deserialize`.
/// struct NotDeserialize;
///
/// #[nitric_runtime::subscribe("orders")]
/// async fn ship(order: NotDeserialize) {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn subscribe(args: TokenStream, item: TokenStream) -> TokenStream {
    subscribe::expand(args.into(), item.into()).into()
}

/// Registers an `async fn` the membrane calls on a schedule: every so often
/// (`every`) or on the minutes a cron expression matches (`cron`).
///
/// ```
/// use nitric_runtime::schedule::ScheduleContext;
/// use nitric_runtime::websocket::Websocket;
///
/// #[nitric_runtime::schedule("tick", every = "5 minutes")]
/// async fn tick(ctx: ScheduleContext) -> Result<(), nitric_runtime::Error> {
///     println!("{} fired", ctx.name());
///     Websocket::new("public").send("2f1c...", "tick").await
/// }
///
/// #[nitric_runtime::schedule("nightly", cron = "0 3 * * *", timeout = "10m")]
/// async fn nightly() {
///     println!("03:00 UTC");
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// - The schedule name, a string literal: letters, digits, `-` and `_`,
///   unique in the project.
/// - Exactly one of:
///   - `every = "5 minutes"`: Nitric's rate words (a count and `minutes`,
///     `hours` or `days`; a bare unit means one) or any duration
///     `humantime` reads (`"90m"`, `"2h"`), a whole number of minutes and
///     at least one: the clouds' schedulers fire at most once a minute. It
///     is sent as Nitric's words, in the largest unit that divides it.
///   - `cron = "0 * * * *"`: five fields (minute, hour, day of month, month,
///     day of week), in UTC; each `*`, a number, a range, a step (`*/15`)
///     or a list, months and days also by name (`JAN`, `MON`).
/// - `timeout = "30s"` (optional): how long one run may take; past it the
///   run is abandoned and logged.
/// - `crate = "path"` (optional): where the runtime crate is, when renamed.
///
/// # The function
///
/// A free `async fn` taking the firing's
/// `nitric_runtime::schedule::ScheduleContext`, or no parameter. It returns
/// `()` or `Result<(), E>` like every handler. It runs inside the service,
/// so it may use websockets, key/value stores, rooms and topics. An `Err`,
/// a panic or a timeout is logged; the schedule fires again at its next
/// time (the contract has no "failed" answer for a schedule). A service has
/// at most one function per schedule name; the runtime refuses to start
/// otherwise. A schedule declares no resource, as the official SDKs do.
///
/// # What it expands to
///
/// For `tick` above: the function as written, then
///
/// ```text
/// const _: () = {
///     use ::nitric_runtime::__private as __nitric;
///     #[doc(hidden)]
///     fn __nitric_adapter(
///         __nitric_input: __nitric::ScheduleContext,
///     ) -> __nitric::BoxFuture<__nitric::HandlerResult> {
///         ::std::boxed::Box::pin(async move {
///             let __nitric_output: Result<(), nitric_runtime::Error> = tick(
///                 <ScheduleContext as __nitric::FromScheduleContext>::from_schedule_context(
///                     __nitric_input,
///                 ),
///             )
///             .await;
///             <Result<(), nitric_runtime::Error> as __nitric::IntoHandlerResult>::into_handler_result(
///                 __nitric_output,
///             )
///         })
///     }
///     __nitric::inventory::submit! {
///         __nitric::ScheduleFunction::every(
///             "tick",
///             "5 minutes",
///             __nitric_adapter,
///             __nitric::Source::new("tick", "src/main.rs", 4u32),
///         )
///     }
/// };
/// ```
///
/// # Mistakes are compile errors
///
/// ```compile_fail
/// // Schedules fire at most once a minute.
/// #[nitric_runtime::schedule("fast", every = "10s")]
/// async fn fast() {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn schedule(args: TokenStream, item: TokenStream) -> TokenStream {
    schedule::expand(args.into(), item.into()).into()
}
