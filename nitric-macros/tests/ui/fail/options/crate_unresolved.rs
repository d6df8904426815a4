// The generated code follows `crate = "..."`: a path that does not lead to
// the runtime is reported on the literal.
use nitric_runtime::websocket;

#[websocket("public", on = "message", crate = "nitric_rt")]
async fn handler() {}

fn main() {}
