// Store names follow the socket rules; each error is on the literal, and the
// static stays declared (no "free static item without body").
use nitric_runtime::kv::KvStore;
use nitric_runtime::kv_store;

#[kv_store("", allow = [get])]
static EMPTY: KvStore<serde_json::Value>;

#[kv_store("user.profiles", allow = [get])]
static INVALID_CHARACTER: KvStore<serde_json::Value>;

#[kv_store("_profiles", allow = [get])]
static STARTS_WITH_AN_UNDERSCORE: KvStore<serde_json::Value>;

#[kv_store("a-store-name-that-goes-on-and-on-and-on-past-what-a-cloud-accepts", allow = [get])]
static TOO_LONG: KvStore<serde_json::Value>;

fn main() {
    // Uses of the statics cause no further errors.
    let _ = (EMPTY.name(), INVALID_CHARACTER.name(), TOO_LONG.name());
    let _ = STARTS_WITH_AN_UNDERSCORE.name();
}
