use nitric_runtime::websocket::{ConnectContext, FromConnect, Reject};
use std::rc::Rc;

struct User;

impl FromConnect for User {
    type Rejection = Reject;

    // The guard's future holds an `Rc` across an await: not `Send`.
    async fn from_connect(ctx: &ConnectContext) -> Result<Self, Reject> {
        let token = Rc::new(ctx.query().get("token").map(str::to_owned));
        std::future::ready(()).await;
        token.as_ref().as_ref().map(|_| User).ok_or_else(|| Reject::new("no token"))
    }
}

fn main() {}
