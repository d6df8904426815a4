use nitric_runtime::kv_store;

#[kv_store("profiles", allow = [get])]
fn profiles() {}

fn main() {
    profiles();
}
