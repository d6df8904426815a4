//! `crate = "..."` for a runtime reached under another name.
//!
//! Cargo refuses a second dev-dependency on the same package under a new
//! name, so the rename is made here with `extern crate ... as`. That
//! `::nitric_runtime` still resolves is why `fail/options/crate_unresolved.rs`
//! exists: it proves the generated code follows the path given here.

extern crate nitric_runtime as renamed;

use renamed::kv::KvStore;
use renamed::websocket::MessageContext;

mod sdk {
    pub use renamed::*;
}

#[renamed::websocket("public", on = "message", crate = "renamed")]
async fn through_extern_crate(_ctx: MessageContext) {}

#[renamed::websocket("public", crate = "::renamed", on = "message")]
async fn through_absolute_path(_ctx: MessageContext) {}

#[renamed::websocket("public", on = "message", crate = "crate::sdk")]
async fn through_a_module(_ctx: MessageContext) {}

#[renamed::kv_store("profiles", crate = "renamed", allow = [get])]
static PROFILES: KvStore<serde_json::Value>;

fn main() {
    let _ = PROFILES.name();
}
