use nitric_runtime::kv::KvStore;
use nitric_runtime::{kv_store, websocket};

const SOCKET: &str = "public";

#[websocket(SOCKET, on = "message")]
async fn handler() {}

#[kv_store(profiles, allow = [get])]
static PROFILES: KvStore<serde_json::Value>;

fn main() {}
