use nitric_runtime::api::HttpContext;

struct NotAResponse;

#[nitric_runtime::api("main", get = "/a")]
async fn bad_return(_ctx: HttpContext) -> NotAResponse {
    NotAResponse
}

struct NotReadable;

#[nitric_runtime::api("main", post = "/b")]
async fn bad_body(_ctx: HttpContext, _body: NotReadable) {}

// A websocket context on a route: the error points at the parameter.
#[nitric_runtime::api("main", get = "/c")]
async fn wrong_context(_ctx: nitric_runtime::websocket::MessageContext) {}

fn main() {}
