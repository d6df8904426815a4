use nitric_runtime::api::HttpContext;

#[nitric_runtime::api("main", get = "rooms")]
async fn no_slash(_ctx: HttpContext) {}

#[nitric_runtime::api("main", get = "/rooms/:")]
async fn unnamed(_ctx: HttpContext) {}

#[nitric_runtime::api("main", get = "/rooms/:id/seats/:id")]
async fn twice(_ctx: HttpContext) {}

fn main() {}
