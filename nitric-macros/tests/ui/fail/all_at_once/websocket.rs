// Every mistake in the attribute and the signature, reported in one build.
use nitric_runtime::websocket;

#[websocket("chat room", on = "mesage", colour = "red", crate = "a b")]
fn handler<T>(_first: T, _second: u32, _third: u32) {}

fn main() {}
