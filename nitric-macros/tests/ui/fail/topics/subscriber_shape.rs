use nitric_runtime::subscribe;

// Not async, and two parameters.
#[subscribe("orders")]
fn ship(_order: serde_json::Value, _extra: u32) {}

// An invalid topic name and an option subscribers do not have.
#[subscribe("new orders", allow = [publish])]
async fn audit(_order: serde_json::Value) {}

// A return type the runtime cannot use.
#[subscribe("refunds")]
async fn refund(_order: serde_json::Value) -> u32 {
    0
}

fn main() {}
