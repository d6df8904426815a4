//! A route handler's second parameter: the body read into a type before the
//! handler runs, or a 400 answer.

use super::context::HttpContext;
use super::response::Response;
use crate::websocket::Json;
use serde::de::DeserializeOwned;

/// What a route handler may take after its [`HttpContext`]: a value read
/// from the request before the handler runs. When reading fails, the
/// returned [`Response`] is the answer and the handler does not run.
///
/// `Json<T>` reads the body as JSON (400 when it is not a `T`), `String`
/// as UTF-8 text (400 when it is not).
///
/// ```
/// use nitric_runtime::api::{FromRequest, HttpContext, Response};
///
/// struct Token(String);
///
/// impl FromRequest for Token {
///     fn from_request(ctx: &HttpContext) -> Result<Self, Response> {
///         match ctx.header("authorization") {
///             Some(token) => Ok(Token(token.to_owned())),
///             None => Err(Response::text("who are you?").with_status(401)),
///         }
///     }
/// }
///
/// #[nitric_runtime::api("main", get = "/me")]
/// async fn me(_ctx: HttpContext, Token(token): Token) -> String {
///     format!("your token is {token}")
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from an HTTP request",
    label = "a route handler's second parameter must implement `FromRequest`",
    note = "use `Json<T>` for a JSON body, `String` for a text body, or implement `nitric_runtime::api::FromRequest`"
)]
pub trait FromRequest: Sized {
    /// Reads the value, or answers the request with the rejection.
    fn from_request(ctx: &HttpContext) -> Result<Self, Response>;
}

impl<T: DeserializeOwned> FromRequest for Json<T> {
    fn from_request(ctx: &HttpContext) -> Result<Self, Response> {
        Json::from_bytes(ctx.body())
            .map_err(|error| Response::text(format!("bad request body: {error}")).with_status(400))
    }
}

impl FromRequest for String {
    fn from_request(ctx: &HttpContext) -> Result<Self, Response> {
        String::from_utf8(ctx.body().to_vec())
            .map_err(|_| Response::text("bad request body: it is not UTF-8 text").with_status(400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Chat {
        #[allow(dead_code)]
        text: String,
    }

    #[test]
    fn a_body_that_does_not_fit_is_answered_400() {
        let ctx = HttpContext::new("main", "POST", "/").with_body(br#"{"text": 5}"#.to_vec());
        let rejection = Json::<Chat>::from_request(&ctx).unwrap_err();
        assert_eq!(rejection.status(), 400);
        let body = String::from_utf8(rejection.body().to_vec()).unwrap();
        assert!(body.contains("at `text`"), "{body}");
        let ctx = ctx.with_body(br#"{"text": "hi"}"#.to_vec());
        assert!(Json::<Chat>::from_request(&ctx).is_ok());
    }
}
