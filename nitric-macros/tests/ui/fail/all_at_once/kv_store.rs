// Every mistake in the attribute and the item, reported in one build.
use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

#[kv_store("9lives", allow = [get, gte, get], alow = [set])]
static mut LIVES: KvStore<serde_json::Value> = todo!();

fn main() {}
