//! The cadence: exactly one of `every` and `cron`, each well formed.

use nitric_runtime::schedule;

#[schedule("none")]
async fn none() {}

#[schedule("both", every = "5 minutes", cron = "0 * * * *")]
async fn both() {}

#[schedule("too-fast", every = "30s")]
async fn too_fast() {}

#[schedule("odd", every = "90s")]
async fn odd() {}

#[schedule("words", every = "every tuesday")]
async fn words() {}

#[schedule("seconds-too", cron = "0 0 * * * *")]
async fn six_fields() {}

#[schedule("minute", cron = "60 * * * *")]
async fn minute() {}

#[schedule("not-a-string", every = 5)]
async fn not_a_string() {}

fn main() {}
