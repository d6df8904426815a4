use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

#[kv_store("profiles", allow = [get])]
static mut PROFILES: KvStore<serde_json::Value>;

fn main() {}
