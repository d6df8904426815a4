use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

// A typo gets a suggestion.
#[kv_store("profiles", allow = [get, sett])]
static PROFILES: KvStore<serde_json::Value>;

// A word far from every permission lists them.
#[kv_store("sessions", allow = [write])]
static SESSIONS: KvStore<serde_json::Value>;

fn main() {}
