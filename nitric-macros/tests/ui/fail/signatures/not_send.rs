use nitric_runtime::websocket;
use nitric_runtime::websocket::MessageContext;
use std::rc::Rc;

#[websocket("public", on = "message")]
async fn handler(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
    let body = Rc::new(ctx.body().to_vec());
    ctx.socket().send(ctx.connection_id(), body.to_vec()).await?;
    drop(body);
    Ok(())
}

fn main() {}
