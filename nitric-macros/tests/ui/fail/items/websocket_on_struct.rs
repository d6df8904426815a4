use nitric_runtime::websocket;

#[websocket("public", on = "message")]
struct Handler;

fn main() {
    let _ = Handler;
}
