use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

#[kv_store("profiles", allow = get)]
static PROFILES: KvStore<serde_json::Value>;

// Events are quoted, permissions are not.
#[kv_store("sessions", allow = ["get", set])]
static SESSIONS: KvStore<serde_json::Value>;

fn main() {}
