use nitric_runtime::websocket;

// A typo gets a suggestion.
#[websocket("public", on = "mesage")]
async fn typo() {}

// A word far from every event lists them.
#[websocket("public", on = "open")]
async fn unrelated() {}

fn main() {}
