//! `#[websocket("socket", on = "event")]`: registers an `async fn` as the
//! handler of one event type of one socket.

use crate::attribute_args::{
    self, crate_option, leading_name, next_key, note_duplicate, string_value, unknown_option,
};
use crate::diagnostics::{expected_one_of, Errors};
use crate::handler_fn::{self, AdapterOutput, Checked, HandlerAttribute, Parameters, Registration};
use crate::resource_name::ResourceName;
use crate::runtime_contract::{
    RuntimeItem, RuntimePath, ACTION_RESULT, CONNECT_CONTEXT, DISCONNECT_CONTEXT, FROM_CONNECT,
    FROM_CONTEXT, FROM_MESSAGE, INTO_ACTION_RESULT, MESSAGE_CONTEXT, WEBSOCKET_ADAPTER,
    WEBSOCKET_FUNCTION,
};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

const USAGE: &str = "#[websocket(\"public\", on = \"message\")]";
const ON: &str = "on";
const ACTION: &str = "action";
const FIELD: &str = "field";
const OPTIONS: &[&str] = &[
    ON,
    ACTION,
    FIELD,
    attribute_args::TIMEOUT,
    attribute_args::CRATE,
];

/// An action handler's output becomes the reply's `response`.
const ACTION_OUTPUT: AdapterOutput = AdapterOutput {
    result: ACTION_RESULT,
    into: INTO_ACTION_RESULT,
    method: "into_action_result",
};

/// The event `on = "..."` names: the runtime's `WebsocketEventType` (the
/// contract's enum) as the macro reads it, with what each event's handler
/// may take. The macro crate does not depend on the contract's crate, so
/// its build need not wait for the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnEvent {
    Connect,
    Disconnect,
    Message,
}

impl OnEvent {
    const NAMES: &'static [&'static str] = &["connect", "disconnect", "message"];

    fn parse(literal: &LitStr) -> syn::Result<Self> {
        match literal.value().as_str() {
            "connect" => Ok(Self::Connect),
            "disconnect" => Ok(Self::Disconnect),
            "message" => Ok(Self::Message),
            other => Err(syn::Error::new(
                literal.span(),
                format!(
                    "unknown websocket event {other:?}: {}",
                    expected_one_of(other, Self::NAMES, "\"")
                ),
            )),
        }
    }

    /// The context type handlers of this event receive.
    fn context_type(self) -> RuntimeItem {
        match self {
            Self::Connect => CONNECT_CONTEXT,
            Self::Disconnect => DISCONNECT_CONTEXT,
            Self::Message => MESSAGE_CONTEXT,
        }
    }

    /// The parameters a handler of this event may take: the context, then a
    /// guard for `connect` or a payload for `message`.
    fn parameters(self) -> Parameters {
        let context = self.context_type().name();
        let allowed = match self {
            Self::Connect => format!("at most two parameters: the event's `{context}`, then a guard, a type that implements `FromConnect` such as `Query<T>`"),
            Self::Message => format!("at most two parameters: the event's `{context}`, then the payload, a type that implements `FromMessage` such as `Json<T>`"),
            Self::Disconnect => format!("at most one parameter, the event's `{context}`; a payload goes on a message handler and a guard on a connect handler, after their context"),
        };
        let most = if self == Self::Disconnect { 1 } else { 2 };
        Parameters { most, allowed }
    }

    /// The expression building a handler's second parameter, of type `ty`,
    /// from the borrowed context `input`; on failure the adapter returns
    /// and the handler does not run. Spanned to `ty`, so a type without the
    /// trait is reported there with the runtime's explanation.
    fn second_argument(self, ty: &Type, input: &Ident) -> Option<TokenStream> {
        let span = ty.span();
        let read = match self {
            Self::Connect => {
                let from_connect = FROM_CONNECT.spanned(span);
                quote_spanned!(span=> <#ty as #from_connect>::__guard_for_handler(&#input).await)
            }
            Self::Message => {
                let from_message = FROM_MESSAGE.spanned(span);
                quote_spanned!(span=> <#ty as #from_message>::__read_for_handler(&#input))
            }
            // Refused by the signature check.
            Self::Disconnect => return None,
        };
        Some(quote_spanned! {span=>
            match #read {
                ::core::result::Result::Ok(second) => second,
                ::core::result::Result::Err(error) => return ::core::result::Result::Err(error),
            }
        })
    }

    /// The variant of `WebsocketAdapter` holding this event's adapter.
    fn adapter_variant(self) -> Ident {
        let variant = match self {
            Self::Connect => "Connect",
            Self::Disconnect => "Disconnect",
            Self::Message => "Message",
        };
        Ident::new(variant, Span::call_site())
    }
}

/// The parsed arguments of one `#[websocket(...)]`.
pub(crate) struct WebsocketArgs {
    socket: ResourceName,
    event: OnEvent,
    /// `action = "..."`: the message handler of one action.
    action: Option<LitStr>,
    /// `field = "..."`: the JSON field the action is read from, when not
    /// `"action"`.
    field: Option<LitStr>,
    timeout: Option<attribute_args::Timeout>,
    runtime: RuntimePath,
}

impl Parse for WebsocketArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let socket = ResourceName::parse(leading_name(input, "socket", USAGE)?, "socket");
        let mut event = None;
        let mut timeout = None;
        let mut runtime = None;
        let mut misspelled = None;
        let mut action: Option<LitStr> = None;
        let mut field: Option<LitStr> = None;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                ON => {
                    note_duplicate(&event, &key, &mut errors);
                    let literal = string_value(input, "on = \"message\"", &mut errors)?;
                    match literal.as_ref().map(OnEvent::parse) {
                        Some(Ok(parsed)) => event = Some(parsed),
                        Some(Err(error)) => {
                            errors.push(error);
                            event.get_or_insert(OnEvent::Message); // keep checking, the error is recorded
                        }
                        None => {
                            event.get_or_insert(OnEvent::Message); // recorded by `string_value`
                        }
                    }
                }
                ACTION => {
                    note_duplicate(&action, &key, &mut errors);
                    if let Some(literal) = string_value(input, "action = \"join\"", &mut errors)? {
                        if literal.value().is_empty() {
                            errors.push(syn::Error::new(
                                literal.span(),
                                "the action must not be empty; it is the value of the messages' \"action\" field, as in `action = \"join\"`",
                            ));
                        }
                        action = Some(literal);
                    }
                }
                FIELD => {
                    note_duplicate(&field, &key, &mut errors);
                    if let Some(literal) = string_value(input, "field = \"type\"", &mut errors)? {
                        let refusal = match literal.value().as_str() {
                            "" => Some("the field must not be empty; it names the messages' JSON field holding the action, as in `field = \"type\"`"),
                            "ref" => Some("\"ref\" carries the id a reply echoes; route by another field"),
                            _ => None,
                        };
                        if let Some(refusal) = refusal {
                            errors.push(syn::Error::new(literal.span(), refusal));
                        }
                        field = Some(literal);
                    }
                }
                attribute_args::TIMEOUT => {
                    attribute_args::timeout_option(input, &key, &mut timeout, &mut errors)?
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => misspelled = unknown_option(input, &key, OPTIONS, &mut errors)?.or(misspelled),
            }
        }
        if let (Some(field), None) = (&field, &action) {
            errors.push(syn::Error::new(
                field.span(),
                "`field` says where an action handler's action is read from: add `action = \"...\"`",
            ));
        }
        // "did you mean `on`?" already said the event is missing.
        if event.is_none() && misspelled != Some(ON) {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("missing the event: add `on = \"connect\"`, `on = \"disconnect\"` or `on = \"message\"`, as in {USAGE}"),
            ));
        }
        if let (Some(action), Some(event)) = (&action, event) {
            if event != OnEvent::Message {
                errors.push(syn::Error::new(
                    action.span(),
                    "only message handlers take an action: write `on = \"message\", action = \"...\"`",
                ));
            }
        }
        let socket = socket.map_err(|error| errors.push(error)).ok();
        let args = socket.zip(event).map(|(socket, event)| Self {
            socket,
            event,
            action,
            field,
            timeout,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        });
        errors
            .finish(args)
            .map(|args| args.expect("no errors means every part parsed"))
    }
}

const HANDLER: HandlerAttribute = HandlerAttribute {
    placement: "#[websocket] goes on an `async fn` handling one event of a socket",
    kind: "websocket handler",
};

/// Expands the attribute: the function as written, its adapter taking the
/// event's context, and a `WebsocketFunction` registration. On any error the
/// function is emitted unchanged beside the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<WebsocketArgs>(args);
    let parameters = match &args {
        Ok(args) => args.event.parameters(),
        // The event is unknown: allow what some event allows.
        Err(_) => Parameters {
            most: 2,
            allowed: "at most two parameters: the event's context, then a guard or a payload"
                .to_owned(),
        },
    };
    let Checked { args, function } = match HANDLER.check(args, item, &parameters) {
        Ok(checked) => checked,
        Err(unchanged_with_errors) => return unchanged_with_errors,
    };

    let context = args.event.context_type();
    let input = handler_fn::input();
    // Spanned to the user's type, so a wrong parameter is reported there
    // with the runtime's explanation.
    let parameters = handler_fn::parameters(&function);
    let argument = parameters.first().map(|ty| {
        let from_context = FROM_CONTEXT.spanned(ty.span());
        let context = context.spanned(ty.span());
        quote_spanned! {ty.span()=>
            <#ty as #from_context<#context>>::from_context(#input)
        }
    });
    let second_argument = parameters
        .get(1)
        .and_then(|ty| args.event.second_argument(ty, &input));
    let socket = &args.socket.value;
    let variant = match &args.action {
        Some(_) => Ident::new("Action", Span::call_site()),
        None => args.event.adapter_variant(),
    };
    let adapter = handler_fn::adapter();
    let source = handler_fn::source(&function);
    let with_timeout = attribute_args::with_timeout(args.timeout);
    let with_action = args
        .action
        .as_ref()
        .map(|action| quote!(.with_action(#action)));
    let with_field = args
        .field
        .as_ref()
        .map(|field| quote!(.with_action_field(#field)));
    let submission = quote! {
        #WEBSOCKET_FUNCTION::new(#socket, #WEBSOCKET_ADAPTER::#variant(#adapter), #source)#with_action #with_field #with_timeout
    };

    let registration = Registration {
        input_type: quote!(#context),
        argument,
        second_argument,
        submission,
    };
    match &args.action {
        None => handler_fn::emit(&args.runtime, &function, registration),
        Some(action) => {
            let mut expanded =
                handler_fn::emit_returning(&args.runtime, &function, registration, &ACTION_OUTPUT);
            expanded.extend(one_handler_per_action(socket, action));
            expanded
        }
    }
}

/// A marker named after the socket and the action, in the handler's
/// module: a second handler of the action there defines the name again,
/// and rustc reports both places ("the name `..._has_two_handlers` is
/// defined multiple times"), pointing at the second `action = "..."`.
/// Handlers in different modules do not meet here; the runtime refuses
/// them at startup, naming both. (A symbol from `#[export_name]` would
/// meet across modules, but only when linking, which `cargo check` and
/// IDEs never do, and as an `unsafe` linker error across crates.)
fn one_handler_per_action(socket: &str, action: &LitStr) -> TokenStream {
    let name = format!(
        "__nitric_action_{}_of_socket_{}_has_two_handlers",
        identifier_part(&action.value()),
        // Socket names match case-insensitively.
        identifier_part(&socket.to_lowercase()),
    );
    let marker = Ident::new(&name, action.span());
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        struct #marker;
    }
}

/// `text` as part of an identifier: ASCII letters, digits and `_` as they
/// are, anything else as its code point in hex between underscores.
fn identifier_part(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => c.to_string(),
            other => format!("_{:x}_", u32::from(other)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<(String, OnEvent), String> {
        syn::parse2::<WebsocketArgs>(tokens)
            .map(|args| (args.socket.value, args.event))
            .map_err(crate::diagnostics::joined)
    }

    #[test]
    fn parses_name_and_event() {
        assert_eq!(
            parse(quote!("public", on = "message")),
            Ok(("public".into(), OnEvent::Message))
        );
        assert_eq!(
            parse(quote!("chat", on = "connect", crate = "::renamed",)),
            Ok(("chat".into(), OnEvent::Connect))
        );
    }

    #[test]
    fn reports_all_argument_mistakes_together() {
        let error = parse(quote!("", on = "mesage", colour = "red")).unwrap_err();
        assert!(
            error.contains("the socket name must not be empty"),
            "{error}"
        );
        assert!(error.contains("did you mean \"message\"?"), "{error}");
        assert!(error.contains("unknown option `colour`"), "{error}");
    }

    #[test]
    fn explains_values_and_names_in_the_wrong_form() {
        let error = parse(quote!("public", on = message)).unwrap_err();
        assert_eq!(error, "expected a string literal, as in `on = \"message\"`");
        let error = parse(quote!(on = "message")).unwrap_err();
        assert!(
            error.starts_with("missing the socket name: it comes before the options"),
            "{error}"
        );
    }

    #[test]
    fn a_misspelled_on_is_not_also_missing() {
        let error = parse(quote!("public", onn = "message")).unwrap_err();
        assert_eq!(
            error,
            "unknown option `onn`: expected one of `on`, `action`, `field`, `timeout`, `crate`; did you mean `on`?"
        );
    }

    #[test]
    fn an_action_is_for_message_handlers_and_not_empty() {
        let args = syn::parse2::<WebsocketArgs>(quote!("public", on = "message", action = "join"))
            .expect("parses");
        assert_eq!(
            args.action.map(|action| action.value()),
            Some("join".into())
        );
        let error = parse(quote!("public", on = "connect", action = "join")).unwrap_err();
        assert!(
            error.contains("only message handlers take an action"),
            "{error}"
        );
        let error = parse(quote!("public", on = "message", action = "")).unwrap_err();
        assert!(error.contains("the action must not be empty"), "{error}");
        let args = syn::parse2::<WebsocketArgs>(quote!(
            "public",
            on = "message",
            action = "join",
            field = "type"
        ))
        .unwrap();
        assert_eq!(
            args.field.map(|field| field.value()).as_deref(),
            Some("type")
        );
        let error = parse(quote!("public", on = "message", field = "type")).unwrap_err();
        assert!(error.contains("add `action = \"...\"`"), "{error}");
        for (field, refusal) in [
            ("", "must not be empty"),
            ("ref", "carries the id a reply echoes"),
        ] {
            let error =
                parse(quote!("public", on = "message", action = "a", field = #field)).unwrap_err();
            assert!(error.contains(refusal), "{field:?}: {error}");
        }
        let error =
            parse(quote!("public", on = "message", action = "a", action = "b")).unwrap_err();
        assert!(error.contains("duplicate `action` option"), "{error}");
    }

    #[test]
    fn the_marker_of_an_action_is_an_identifier_for_any_names() {
        assert_eq!(identifier_part("send_message"), "send_message");
        assert_eq!(identifier_part("room:join"), "room_3a_join");
        let marker = one_handler_per_action("Chat Room", &syn::parse_quote!("é"));
        let item: syn::ItemStruct = syn::parse2(marker).expect("a struct");
        assert_eq!(
            item.ident,
            "__nitric_action__e9__of_socket_chat_20_room_has_two_handlers"
        );
    }

    #[test]
    fn takes_a_timeout_with_a_unit() {
        assert_eq!(
            parse(quote!("public", on = "message", timeout = "5s")),
            Ok(("public".into(), OnEvent::Message))
        );
        let error = parse(quote!("public", on = "message", timeout = "5")).unwrap_err();
        assert!(error.contains("\"5\" is not a timeout"), "{error}");
        let error = parse(quote!(
            "public",
            on = "message",
            timeout = "1s",
            timeout = "2s"
        ))
        .unwrap_err();
        assert!(error.contains("duplicate `timeout` option"), "{error}");
    }

    #[test]
    fn requires_the_event_once() {
        assert!(parse(quote!("public"))
            .unwrap_err()
            .contains("missing the event"));
        assert!(parse(quote!("public", on = "connect", on = "message"))
            .unwrap_err()
            .contains("duplicate `on` option"));
    }

    #[test]
    fn each_event_says_which_parameters_it_takes() {
        let connect = OnEvent::Connect.parameters();
        assert_eq!(connect.most, 2);
        assert!(connect.allowed.contains("`ConnectContext`, then a guard"));
        let message = OnEvent::Message.parameters();
        assert_eq!(message.most, 2);
        assert!(message
            .allowed
            .contains("`MessageContext`, then the payload"));
        let disconnect = OnEvent::Disconnect.parameters();
        assert_eq!(disconnect.most, 1);
        assert!(disconnect
            .allowed
            .contains("a payload goes on a message handler and a guard on a connect handler"));
    }

    /// The scrutinee of the `match` that reads the second parameter of a
    /// handler of `event`, if the event takes one.
    fn second_read(event: OnEvent) -> Option<syn::Expr> {
        let ty: Type = syn::parse_quote!(Json<Chat>);
        let tokens = event.second_argument(&ty, &handler_fn::input())?;
        match syn::parse2::<syn::Expr>(tokens).expect("an expression") {
            syn::Expr::Match(read) => Some(*read.expr),
            other => panic!("not a match: {}", quote!(#other)),
        }
    }

    #[test]
    fn a_connect_guard_is_awaited_and_a_payload_read_at_once() {
        assert!(matches!(
            second_read(OnEvent::Connect),
            Some(syn::Expr::Await(_))
        ));
        assert!(matches!(
            second_read(OnEvent::Message),
            Some(syn::Expr::Call(_))
        ));
        assert!(second_read(OnEvent::Disconnect).is_none());
    }

    #[test]
    fn a_second_parameter_on_disconnect_keeps_the_function_beside_the_error() {
        let item = quote!(
            async fn bye(ctx: DisconnectContext, text: String) {}
        );
        let expanded = expand(quote!("public", on = "disconnect"), item);
        let file = syn::parse2::<syn::File>(expanded).expect("a file");
        let kept = file
            .items
            .iter()
            .any(|item| matches!(item, syn::Item::Fn(function) if function.sig.ident == "bye"));
        let errors = file
            .items
            .iter()
            .filter(|item| {
                matches!(item, syn::Item::Macro(call)
                    if call.mac.path.segments.last().is_some_and(|name| name.ident == "compile_error"))
            })
            .count();
        assert!(kept);
        assert_eq!(errors, 1);
    }

    /// Properties over generated inputs; see `crate::arbitrary`.
    mod properties {
        use super::*;
        use crate::arbitrary::*;
        use proptest::prelude::*;
        use proptest::sample::select;

        fn parse_source(tokens: &TokenStream) -> syn::Result<WebsocketArgs> {
            syn::parse2::<WebsocketArgs>(tokens.clone())
        }

        const EVENTS: &[(&str, OnEvent)] = &[
            ("connect", OnEvent::Connect),
            ("disconnect", OnEvent::Disconnect),
            ("message", OnEvent::Message),
        ];

        /// The options after the name: `on`, and `crate` before or after it
        /// if given, with or without a trailing comma.
        fn written_options(
            event: &str,
            runtime: Option<&str>,
            crate_first: bool,
            trailing_comma: bool,
        ) -> String {
            let mut options = vec![format!("on = {}", string_literal(event))];
            if let Some(runtime) = runtime {
                let option = format!("crate = {}", string_literal(runtime));
                options.insert(usize::from(!crate_first), option);
            }
            let comma = if trailing_comma { "," } else { "" };
            format!(", {}{comma}", options.join(", "))
        }

        proptest! {
            #[test]
            fn never_panics_on_any_arguments(args in any_args()) {
                if let Some(tokens) = lex(&args) {
                    let _ = parse_source(&tokens);
                }
            }

            #[test]
            fn expansion_keeps_the_function_whatever_the_arguments(args in any_args()) {
                let Some(args) = lex(&args) else { return Ok(()) };
                let item = tokens("async fn handler(ctx: MessageContext) {}");
                let expanded = expand(args, item);
                let file = syn::parse2::<syn::File>(expanded.clone())
                    .map_err(|error| TestCaseError::fail(format!("{error}: {expanded}")))?;
                let kept = file.items.iter().any(|item| {
                    matches!(item, syn::Item::Fn(function) if function.sig.ident == "handler")
                });
                prop_assert!(kept, "the function is gone: {expanded}");
            }

            #[test]
            fn any_valid_name_and_event_round_trip(
                name in valid_name(),
                (event, expected) in select(EVENTS),
                runtime in prop::option::of(select(&["::nitric_runtime", "renamed", "::a::b"][..])),
                crate_first in any::<bool>(),
                trailing_comma in any::<bool>(),
            ) {
                let options = written_options(event, runtime, crate_first, trailing_comma);
                let source = format!("{}{options}", string_literal(&name));
                let args = parse_source(&tokens(&source))
                    .map_err(|error| TestCaseError::fail(format!("{source}: {error}")))?;
                prop_assert_eq!(args.socket.value, name);
                prop_assert_eq!(args.event, expected);
            }

            #[test]
            fn an_invalid_name_is_the_one_error_and_points_at_the_name(
                name in invalid_name(),
                (event, _) in select(EVENTS),
            ) {
                let source = format!("{}, on = {}", string_literal(&name), string_literal(event));
                let tokens = tokens(&source);
                let Err(error) = parse_source(&tokens) else {
                    return Err(TestCaseError::fail(format!("{source} was accepted")));
                };
                let errors = placed_errors(error);
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                let (place, message) = &errors[0];
                prop_assert_eq!(*place, place_of_token(&tokens, 0));
                prop_assert!(message.contains("socket name"), "{}", message);
            }

            #[test]
            fn any_string_as_the_event_is_accepted_only_if_it_is_one(event in prop_oneof![
                any::<String>(),
                select(&["connect", "disconnect", "message", "Message", "mesage"][..])
                    .prop_map(str::to_owned),
            ]) {
                let source = format!("\"public\", on = {}", string_literal(&event));
                let tokens = tokens(&source);
                let known = ["connect", "disconnect", "message"].contains(&event.as_str());
                match parse_source(&tokens) {
                    Ok(_) => prop_assert!(known, "{} was accepted", source),
                    Err(error) => {
                        prop_assert!(!known, "{}: {}", source, error);
                        let errors = placed_errors(error);
                        prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                        prop_assert_eq!(errors[0].0, place_of_token(&tokens, 4));
                        prop_assert!(errors[0].1.starts_with("unknown websocket event"), "{}", errors[0].1);
                    }
                }
            }

            #[test]
            fn any_string_as_crate_is_accepted_only_if_it_is_a_path(runtime in prop_oneof![
                any::<String>(),
                "(::)?[a-z_]{1,6}(::[a-z_]{1,6}){0,3}",
                "[a-z:<>, ]{0,12}",
            ]) {
                let source = format!("\"public\", on = \"message\", crate = {}", string_literal(&runtime));
                let tokens = tokens(&source);
                let is_path = syn::parse_str::<syn::Path>(&runtime).is_ok();
                match parse_source(&tokens) {
                    Ok(_) => prop_assert!(is_path, "{} was accepted", source),
                    Err(error) => {
                        prop_assert!(!is_path, "{}: {}", source, error);
                        let errors = placed_errors(error);
                        prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                        prop_assert_eq!(Some(errors[0].0), place_of_string(&tokens, &runtime));
                    }
                }
            }

            #[test]
            fn an_unknown_option_is_reported_on_its_key(key in "[a-z_][a-z0-9_]{0,10}") {
                prop_assume!(key != "on" && key != "action" && syn::parse_str::<Ident>(&key).is_ok());
                let source = format!("\"public\", on = \"message\", {key} = \"x\"");
                let tokens = tokens(&source);
                let errors = placed_errors(parse_source(&tokens).err().expect("refused"));
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                prop_assert_eq!(errors[0].0, place_of_token(&tokens, 6));
                prop_assert!(errors[0].1.starts_with(&format!("unknown option `{key}`")), "{}", errors[0].1);
            }
        }
    }
}
