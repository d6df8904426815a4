use nitric_runtime::websocket;
use nitric_runtime::websocket::ConnectContext;

/// Meant as a guard, but without `impl FromConnect for User`.
struct User {
    name: String,
}

#[websocket("public", on = "connect")]
async fn connect(_ctx: ConnectContext, user: User) {
    let _ = user.name;
}

fn main() {}
