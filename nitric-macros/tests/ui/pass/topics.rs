//! Topics declared with and without the publish permission, and subscribers
//! taking a serde struct, any JSON value, or nothing.

use nitric_runtime::topic::Topic;
use nitric_runtime::{subscribe, topic, BoxError};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Order {
    id: u64,
}

#[topic("orders", allow = [publish])]
static ORDERS: Topic<Order>;

#[topic("audit")]
pub(crate) static AUDIT: Topic<serde_json::Value>;

#[subscribe("orders")]
async fn ship(order: Order) -> Result<(), BoxError> {
    ORDERS.publish_after(&order, std::time::Duration::from_secs(1)).await?;
    Ok(())
}

#[subscribe("audit")]
async fn record(entry: serde_json::Value) {
    let _ = entry;
}

#[subscribe("pings", crate = "::nitric_runtime")]
async fn ping() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = &AUDIT;
}
