// Socket names are checked at compile time; each error is on the literal.
use nitric_runtime::websocket;

#[websocket("", on = "message")]
async fn empty() {}

#[websocket("chat room", on = "message")]
async fn invalid_character() {}

#[websocket("9lives", on = "message")]
async fn starts_with_a_digit() {}

#[websocket("a-socket-name-that-goes-on-and-on-well-past-what-a-cloud-accepts", on = "message")]
async fn too_long() {}

fn main() {}
