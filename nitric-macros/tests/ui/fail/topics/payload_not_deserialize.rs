use nitric_runtime::subscribe;

struct Order {
    id: u64,
}

// The payload is read with serde, so its type must implement Deserialize.
#[subscribe("orders")]
async fn ship(order: Order) {
    let _ = order.id;
}

fn main() {}
