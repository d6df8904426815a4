//! The name and the options: each mistake on its own token, all at once.

use nitric_runtime::schedule;

#[schedule("no spaces", evry = "5 minutes", timeout = "0s")]
async fn misspelt() {}

#[schedule(every = "5 minutes")]
async fn nameless() {}

#[schedule("twice", every = "1 hour", timeout = "1s", timeout = "2s")]
async fn twice() {}

fn main() {}
