//! An invalid app: socket "public" has only a connect handler.

use nitric_runtime::websocket::ConnectContext;

#[nitric_runtime::websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext) {}

fn main() {
    nitric_runtime::run();
}
