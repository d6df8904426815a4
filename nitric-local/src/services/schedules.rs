//! `Schedules.Schedule`: an application stream the membrane calls on a
//! cadence. The first message registers the schedule by name with a rate or
//! a cron expression; from then on the membrane sends an interval request
//! at each firing and the application answers it by id (see
//! [`crate::schedules`]).

use std::sync::Arc;

use nitric_protocol::schedules::v1::schedules_server::Schedules;
use nitric_protocol::schedules::v1::{
    client_message, server_message, ClientMessage, IntervalResponse, RegistrationRequest,
    RegistrationResponse, ServerMessage,
};
use tonic::{Request, Response, Status, Streaming};

use super::MembraneState;
use crate::app_stream::{self, Note, ServerStream};
use crate::schedules::{self, Cadence, ScheduleStream};

/// The registration answer and one interval request: a schedule waits for
/// each answer before it fires again.
const SCHEDULE_CHANNEL: usize = 2;

pub(super) struct SchedulesService {
    state: MembraneState,
}

impl SchedulesService {
    pub(super) fn new(state: MembraneState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Schedules for SchedulesService {
    type ScheduleStream = ServerStream<ServerMessage>;

    async fn schedule(
        &self,
        request: Request<Streaming<ClientMessage>>,
    ) -> Result<Response<Self::ScheduleStream>, Status> {
        Ok(self
            .state
            .open_app_stream(request, SCHEDULE_CHANNEL, serve_stream))
    }
}

app_stream::app_message!(
    IntervalResponse,
    not_a_registration: "the first message of a Schedule stream must be a registration_request naming the schedule and its cadence",
    failed_before_registering: "schedule stream failed before registering",
);

/// Registers the schedule, fires it while routing the application's answers,
/// and stops firing when the stream ends.
async fn serve_stream(
    state: MembraneState,
    mut from_app: Streaming<ClientMessage>,
    to_app: tokio::sync::mpsc::Sender<Result<ServerMessage, Status>>,
) {
    let Some((request, welcome)) =
        app_stream::registration(&state.shutdown, &mut from_app, &to_app).await
    else {
        return;
    };
    let name = request.schedule_name;
    let registered = if name.is_empty() {
        Err(Status::invalid_argument(
            "registration_request.schedule_name is empty: name the schedule",
        ))
    } else {
        Cadence::read(request.cadence.as_ref(), &state.schedule_timing)
            .map_err(Status::invalid_argument)
            .and_then(|cadence| {
                let claim = state
                    .schedules
                    .claim(&name)
                    .map_err(Status::already_exists)?;
                Ok((cadence, claim))
            })
    };
    let (cadence, _claim) = match registered {
        Ok(registered) => registered,
        Err(refusal) => {
            tracing::warn!(schedule = %name, status = %refusal.message(), "schedule registration refused");
            let _ = to_app.send(Err(refusal)).await;
            return;
        }
    };
    tracing::info!(schedule = %name, cadence = ?cadence, "schedule registered");
    let stream = Arc::new(ScheduleStream::new(to_app.clone()));
    stream.welcome(welcome);
    let stop = state.shutdown.child_token();
    state.tasks.spawn(schedules::fire(
        name.clone(),
        cadence,
        stream.clone(),
        state.schedule_timing.clone(),
        stop.clone(),
    ));
    app_stream::route_answers(
        &state.shutdown,
        from_app,
        &to_app,
        |id, _answer| stream.answer(id, ()),
        |note| match note {
            Note::UnknownId(id) => {
                tracing::warn!(schedule = %name, id, "answer to an unknown interval id ignored (already answered or timed out)");
            }
            Note::SecondRegistration => {
                tracing::warn!(schedule = %name, "a second registration_request on a registered stream is ignored; open one stream per schedule");
            }
            // The official Node SDK answers a firing whose handler threw
            // with the firing's id and no content. The answer carries
            // nothing anyway, so that ends the run as an answer would;
            // waiting for the answer timeout would stop the schedule.
            Note::Empty(id) => {
                if stream.answer(id, ()) {
                    tracing::debug!(schedule = %name, id, "firing answered without an interval_response (the handler failed); the run has ended");
                } else {
                    tracing::warn!(schedule = %name, id, "empty message from the application ignored");
                }
            }
            Note::Failed(status) => {
                tracing::debug!(schedule = %name, %status, "schedule stream failed");
            }
        },
    )
    .await;
    stop.cancel();
    stream.close();
    tracing::info!(schedule = %name, "schedule unregistered");
}
