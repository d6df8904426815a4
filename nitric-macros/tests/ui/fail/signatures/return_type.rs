use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;

#[websocket("public", on = "message")]
async fn returns_a_number(_ctx: MessageContext) -> i32 {
    0
}

#[websocket("public", on = "message")]
async fn returns_a_value(_ctx: MessageContext) -> Result<String, nitric_runtime::Error> {
    Ok(String::new())
}

fn main() {}
