use nitric_runtime::kv::KvStore;
use nitric_runtime::{kv_store, websocket};

// Close to `on`: suggested.
#[websocket("public", onn = "message")]
async fn typo() {}

// Not close to any option: the options are listed.
#[websocket("public", on = "message", event = "message")]
async fn unrelated() {}

#[kv_store("profiles", allows = [get])]
static PROFILES: KvStore<serde_json::Value>;

fn main() {}
