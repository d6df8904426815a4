use nitric_runtime::connection::{ConnectionState, Rooms};
use nitric_runtime::kv_store;

#[kv_store("rooms", allow = [get, set])]
static ROOMS: Rooms;

#[kv_store("members", allow = [get, delete])]
static MEMBER: ConnectionState<serde_json::Value>;

fn main() {}
