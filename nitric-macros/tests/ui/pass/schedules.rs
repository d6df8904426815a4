//! Schedules on a rate (Nitric's words or a duration) and on cron, with the
//! context or without, with a timeout, and through a renamed crate path.

use nitric_runtime::schedule::ScheduleContext;
use nitric_runtime::{schedule, BoxError};

#[schedule("cleanup", every = "5 minutes")]
async fn cleanup(ctx: ScheduleContext) -> Result<(), BoxError> {
    let _ = (ctx.name(), ctx.fired_at());
    Ok(())
}

#[schedule("hourly", every = "90m", timeout = "30s")]
async fn hourly() {}

#[schedule("daily", every = "day")]
async fn daily() {}

#[schedule("nightly", cron = "0 3 * * MON-FRI")]
async fn nightly(_ctx: ScheduleContext) {}

#[schedule("quarterly", cron = "*/15 * ? JAN,APR,JUL,OCT *", crate = "::nitric_runtime")]
async fn quarterly() -> Result<(), nitric_runtime::Error> {
    Ok(())
}

fn main() {}
