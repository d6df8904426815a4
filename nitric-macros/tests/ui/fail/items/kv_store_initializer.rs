use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

#[kv_store("profiles", allow = [get])]
static PROFILES: KvStore<serde_json::Value> = KvStore::new("profiles");

fn main() {
    let _ = PROFILES.name();
}
