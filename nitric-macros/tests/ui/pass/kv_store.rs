//! Every combination of permissions, in any order, on stores of a serde
//! struct or of JSON values, used from a handler.

use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u64,
}

#[kv_store("get", allow = [get])]
static GET: KvStore<Profile>;

#[kv_store("set", allow = [set])]
static SET: KvStore<Profile>;

#[kv_store("delete", allow = [delete])]
static DELETE: KvStore<Profile>;

#[kv_store("get-set", allow = [get, set])]
static GET_SET: KvStore<Profile>;

#[kv_store("get-delete", allow = [delete, get])]
static GET_DELETE: KvStore<Profile>;

#[kv_store("set-delete", allow = [set, delete,])]
static SET_DELETE: KvStore<Profile>;

/// Documented, public, and every permission.
#[kv_store("profiles_2", allow = [get, set, delete])]
pub static PROFILES: KvStore<Profile>;

#[kv_store("values", allow = [get, set, delete],)]
pub(crate) static VALUES: KvStore<serde_json::Value>;

#[nitric_runtime::websocket("public", on = "message")]
async fn visit(ctx: nitric_runtime::websocket::MessageContext) -> Result<(), nitric_runtime::Error> {
    let id = ctx.connection_id();
    let mut profile = PROFILES.get(id).await?.unwrap_or(Profile {
        name: ctx.text()?.to_owned(),
        visits: 0,
    });
    profile.visits += 1;
    PROFILES.set(id, &profile).await?;
    VALUES.delete(id).await?;
    let _ = (GET.name(), SET.name(), DELETE.name(), GET_SET.name());
    let _ = (GET_DELETE.name(), SET_DELETE.name());
    Ok(())
}

fn main() {}
