use nitric_runtime::api::HttpContext;

struct NotAResponse;

#[nitric_runtime::api("main", get = "/a")]
async fn bad_return(_ctx: HttpContext) -> NotAResponse {
    NotAResponse
}

struct NotReadable;

#[nitric_runtime::api("main", post = "/b")]
async fn bad_body(_ctx: HttpContext, _body: NotReadable) {}

fn main() {}
