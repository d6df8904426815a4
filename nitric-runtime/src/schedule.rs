//! Schedules: what a [`#[schedule]`](macro@crate::schedule) handler
//! receives each time its schedule fires.

use std::time::SystemTime;

/// The context of one firing of a schedule: which schedule, and when the
/// service received it.
///
/// ```
/// use nitric_runtime::schedule::ScheduleContext;
/// use nitric_runtime::websocket::Websocket;
///
/// #[nitric_runtime::schedule("heartbeat", every = "5 minutes")]
/// async fn heartbeat(ctx: ScheduleContext) -> Result<(), nitric_runtime::Error> {
///     tracing::info!(schedule = ctx.name(), at = ?ctx.fired_at(), "beat");
///     Websocket::new("public").send("2f1c...", "still here").await
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct ScheduleContext {
    name: String,
    fired_at: SystemTime,
}

impl ScheduleContext {
    /// The context of a firing of `name` received now.
    pub(crate) fn fired(name: String) -> Self {
        Self {
            name,
            fired_at: SystemTime::now(),
        }
    }

    /// The schedule's name, as `#[schedule("name", ...)]` gives it.
    ///
    /// ```
    /// # use nitric_runtime::schedule::ScheduleContext;
    /// #[nitric_runtime::schedule("nightly", cron = "0 3 * * *")]
    /// async fn nightly(ctx: ScheduleContext) {
    ///     assert_eq!(ctx.name(), "nightly");
    /// }
    /// # fn main() {}
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the service received the firing from the membrane (its own
    /// clock, not the scheduler's).
    ///
    /// ```
    /// # use nitric_runtime::schedule::ScheduleContext;
    /// #[nitric_runtime::schedule("report", every = "1 hour")]
    /// async fn report(ctx: ScheduleContext) {
    ///     let late = ctx.fired_at().elapsed().unwrap_or_default();
    ///     tracing::debug!(?late, "report started");
    /// }
    /// # fn main() {}
    /// ```
    pub fn fired_at(&self) -> SystemTime {
        self.fired_at
    }
}

/// The parameter of a `#[schedule]` function: only [`ScheduleContext`]
/// qualifies. The trait exists so a wrong parameter is reported on it with
/// this explanation.
///
/// ```compile_fail
/// // error: `String` is not what a schedule receives
/// #[nitric_runtime::schedule("nightly", cron = "0 3 * * *")]
/// async fn nightly(name: String) {}
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what a schedule receives",
    label = "a schedule's parameter must be `ScheduleContext`",
    note = "a schedule takes `nitric_runtime::schedule::ScheduleContext` by value, or no parameter"
)]
pub trait FromScheduleContext: Sized {
    /// Builds the parameter.
    fn from_schedule_context(context: ScheduleContext) -> Self;
}

impl FromScheduleContext for ScheduleContext {
    fn from_schedule_context(context: ScheduleContext) -> Self {
        context
    }
}
