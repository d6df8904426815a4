use nitric_runtime::topic;
use nitric_runtime::topic::Topic;

// A typo gets a suggestion; topics have one permission.
#[topic("orders", allow = [publsh])]
static ORDERS: Topic<serde_json::Value>;

fn main() {}
