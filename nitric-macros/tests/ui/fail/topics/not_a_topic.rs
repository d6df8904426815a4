use nitric_runtime::kv::KvStore;
use nitric_runtime::topic;

// The static must be a `Topic<T>`.
#[topic("orders", allow = [publish])]
static ORDERS: KvStore<serde_json::Value>;

fn main() {}
