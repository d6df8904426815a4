use nitric_runtime::kv_store;
use std::collections::HashMap;

#[kv_store("profiles", allow = [get])]
static PROFILES: HashMap<String, String>;

fn main() {}
