use nitric_runtime::api::HttpContext;

#[nitric_runtime::api("main")]
async fn no_route(_ctx: HttpContext) {}

#[nitric_runtime::api("main", get = "/a", post = "/a")]
async fn two_routes(_ctx: HttpContext) {}

#[nitric_runtime::api("main", gett = "/a")]
async fn misspelled(_ctx: HttpContext) {}

fn main() {}
