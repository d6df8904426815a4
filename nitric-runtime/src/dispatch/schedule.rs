//! Schedule streams (`Schedules.Schedule`).

use super::{guarded, EventStream, Outcome, ServerContent};
use crate::handle::ServiceHandle;
use crate::handler::BoxFuture;
use crate::registry::{Cadence, ScheduleFunction};
use crate::schedule::ScheduleContext;
use crate::transport::Channel;
use nitric_protocol::schedules::v1::registration_request::Cadence as WireCadence;
use nitric_protocol::schedules::v1::{
    client_message, schedules_client::SchedulesClient, server_message, ClientMessage,
    IntervalRequest, IntervalResponse, RegistrationRequest, ScheduleCron, ScheduleEvery,
    ServerMessage,
};
use tokio_stream::wrappers::ReceiverStream;

/// The stream of one `#[schedule]` function.
#[derive(Clone, Copy)]
pub(crate) struct ScheduleStream(pub(crate) &'static ScheduleFunction);

impl EventStream for ScheduleStream {
    type ClientMessage = ClientMessage;
    type ServerMessage = ServerMessage;
    type Event = IntervalRequest;
    type Answer = IntervalResponse;

    fn describe(&self) -> String {
        format!("{}, schedule \"{}\"", self.0.source, self.0.name)
    }

    event_stream_plumbing! {
        client: SchedulesClient::schedule,
        registration: |schedule: &Self| {
            let cadence = match schedule.0.cadence {
                Cadence::Every(rate) => WireCadence::Every(ScheduleEvery {
                    rate: rate.to_owned(),
                }),
                Cadence::Cron(expression) => WireCadence::Cron(ScheduleCron {
                    expression: expression.to_owned(),
                }),
            };
            RegistrationRequest {
                schedule_name: schedule.0.name.to_owned(),
                cadence: Some(cadence),
            }
        },
        event: IntervalRequest,
        answer: IntervalResponse,
    }

    /// The contract's answer carries nothing: a run that fails is logged,
    /// and the schedule fires again at its next time.
    fn answer(
        &self,
        service: &ServiceHandle,
        request: IntervalRequest,
    ) -> BoxFuture<IntervalResponse> {
        let schedule = self.0;
        let deadline = service.deadlines().schedule_interval;
        Box::pin(async move {
            let name = schedule.name;
            let context = ScheduleContext::fired(request.schedule_name);
            match guarded((schedule.adapter)(context), schedule.timeout, deadline).await {
                Outcome::Done => {}
                Outcome::Failed(error) => {
                    tracing::warn!(handler = %schedule.source, schedule = name, error = %error, "schedule failed; it runs again at its next time");
                }
                Outcome::Panicked(panic) => {
                    tracing::error!(handler = %schedule.source, schedule = name, panic, "schedule panicked; the service keeps running and the schedule runs again at its next time");
                }
                Outcome::TimedOut(limit) => {
                    tracing::warn!(handler = %schedule.source, schedule = name, timeout = ?limit, "schedule timed out and was abandoned");
                }
                Outcome::PastDeadline(deadline) => {
                    tracing::warn!(handler = %schedule.source, schedule = name, deadline = ?deadline, "schedule cancelled: the membrane stopped waiting for its answer");
                }
            }
            IntervalResponse {}
        })
    }
}
