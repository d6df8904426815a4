//! The attributes written by a `macro_rules!` macro: the names and spans come
//! from the macro's input, and hygiene must not hide generated items.

use nitric_runtime::kv::KvStore;
use nitric_runtime::websocket::{ConnectContext, DisconnectContext, MessageContext};

/// A socket with its three handlers, from one line.
macro_rules! logging_socket {
    ($socket:literal, $connect:ident, $disconnect:ident, $message:ident) => {
        #[nitric_runtime::websocket($socket, on = "connect")]
        async fn $connect(ctx: ConnectContext) {
            println!("{} joined", ctx.connection_id());
        }

        #[nitric_runtime::websocket($socket, on = "disconnect")]
        async fn $disconnect(ctx: DisconnectContext) {
            println!("{} left", ctx.connection_id());
        }

        #[nitric_runtime::websocket($socket, on = "message")]
        async fn $message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
            println!("{} said {}", ctx.connection_id(), ctx.text()?);
            Ok(())
        }
    };
}

logging_socket!("lobby", lobby_connect, lobby_disconnect, lobby_message);
logging_socket!("games", games_connect, games_disconnect, games_message);

/// A store named after its static.
macro_rules! store {
    ($name:ident, $store:literal, [$($permission:ident),*]) => {
        #[nitric_runtime::kv_store($store, allow = [$($permission),*])]
        static $name: KvStore<serde_json::Value>;
    };
}

store!(SCORES, "scores", [get, set]);
store!(SESSIONS, "sessions", [delete]);

fn main() {
    let _ = (SCORES.name(), SESSIONS.name());
}
