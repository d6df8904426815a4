//! The function: an `async fn` taking the `ScheduleContext` or nothing.

use nitric_runtime::schedule;
use nitric_runtime::schedule::ScheduleContext;

#[schedule("sync", every = "5 minutes")]
fn not_async() {}

#[schedule("two", every = "5 minutes")]
async fn two(ctx: ScheduleContext, extra: u32) {}

#[schedule("wrong", every = "5 minutes")]
async fn wrong(name: String) {}

#[schedule("returns", every = "5 minutes")]
async fn returns() -> u32 {
    7
}

#[schedule("static", every = "5 minutes")]
static NOT_A_FUNCTION: u32 = 0;

fn main() {}
