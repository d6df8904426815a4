use nitric_runtime::kv::KvStore;
use nitric_runtime::{kv_store, websocket};

#[websocket(on = "message")]
async fn handler() {}

#[websocket]
async fn bare() {}

#[kv_store(allow = [get])]
static PROFILES: KvStore<serde_json::Value>;

fn main() {}
