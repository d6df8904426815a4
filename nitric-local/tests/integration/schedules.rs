//! `Schedules.Schedule`: registration, firing on a rate, answers paired by
//! id, and the registrations refused.

use std::time::Duration;

use nitric_local::ScheduleTiming;
use nitric_protocol::schedules::v1::registration_request::Cadence;
use nitric_protocol::schedules::v1::schedules_client::SchedulesClient;
use nitric_protocol::schedules::v1::{
    client_message, server_message, ClientMessage, IntervalResponse, RegistrationRequest,
    ScheduleCron, ScheduleEvery, ServerMessage,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, Streaming};

use crate::common::{within, TestMembrane};

/// A membrane where a minute of a rate lasts 20 ms, so "1 minute" fires
/// many times within a test.
async fn membrane() -> TestMembrane {
    TestMembrane::start_with(|config| {
        config.schedule_timing = ScheduleTiming {
            minute: Duration::from_millis(20),
            ..ScheduleTiming::default()
        }
    })
    .await
}

/// An application's schedule stream: what it sends, and what it receives.
struct ScheduleApp {
    to_membrane: mpsc::Sender<ClientMessage>,
    from_membrane: Streaming<ServerMessage>,
}

impl ScheduleApp {
    /// Opens a stream registering `name` with `cadence`; the first message
    /// back is the registration's answer, or the refusal.
    async fn register(test: &TestMembrane, name: &str, cadence: Cadence) -> Result<Self, Status> {
        let (to_membrane, outgoing) = mpsc::channel(8);
        let registration = RegistrationRequest {
            schedule_name: name.to_owned(),
            cadence: Some(cadence),
        };
        to_membrane
            .send(ClientMessage {
                id: String::new(),
                content: Some(client_message::Content::RegistrationRequest(registration)),
            })
            .await
            .expect("the stream is open");
        let mut from_membrane = SchedulesClient::new(test.channel().await)
            .schedule(ReceiverStream::new(outgoing))
            .await?
            .into_inner();
        let first = within("the registration's answer", from_membrane.message()).await?;
        match first.and_then(|message| message.content) {
            Some(server_message::Content::RegistrationResponse(_)) => Ok(Self {
                to_membrane,
                from_membrane,
            }),
            other => panic!("expected a registration response, got {other:?}"),
        }
    }

    /// The next interval request's id, checking it names `schedule`.
    async fn fired(&mut self, schedule: &str) -> String {
        let message = within("a firing", self.from_membrane.message())
            .await
            .expect("the stream is healthy")
            .expect("the stream is open");
        match message.content {
            Some(server_message::Content::IntervalRequest(request)) => {
                assert_eq!(request.schedule_name, schedule);
                message.id
            }
            other => panic!("expected an interval request, got {other:?}"),
        }
    }

    async fn answer(&self, id: String) {
        let answer = ClientMessage {
            id,
            content: Some(client_message::Content::IntervalResponse(
                IntervalResponse {},
            )),
        };
        self.to_membrane
            .send(answer)
            .await
            .expect("the stream is open");
    }
}

fn every(rate: &str) -> Cadence {
    Cadence::Every(ScheduleEvery { rate: rate.into() })
}

#[tokio::test]
async fn a_rate_fires_again_once_each_firing_is_answered() {
    let test = membrane().await;
    let mut app = ScheduleApp::register(&test, "cleanup", every("1 minute"))
        .await
        .expect("registered");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = app.fired("cleanup").await;
        app.answer(id.clone()).await;
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each firing has an id of its own");
}

/// The official Node SDK answers a firing whose handler threw with a
/// message carrying the firing's id and no content. That ends the run: the
/// schedule fires again at its next time, not after the answer timeout
/// (60 s here, well past the test's patience).
#[tokio::test]
async fn a_firing_answered_without_content_has_ended() {
    let test = membrane().await;
    let mut app = ScheduleApp::register(&test, "flaky", every("1 minute"))
        .await
        .expect("registered");
    let first = app.fired("flaky").await;
    app.to_membrane
        .send(ClientMessage {
            id: first.clone(),
            content: None,
        })
        .await
        .expect("the stream is open");
    let second = app.fired("flaky").await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_name_has_one_stream_and_is_free_again_once_it_ends() {
    let test = membrane().await;
    let first = ScheduleApp::register(&test, "nightly", every("1 day"))
        .await
        .expect("registered");
    let refused = ScheduleApp::register(&test, "nightly", every("2 days"))
        .await
        .err()
        .expect("a second registration of the name is refused");
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert!(refused
        .message()
        .contains("schedule \"nightly\" is already registered"));
    // Another name is fine.
    ScheduleApp::register(&test, "hourly", every("1 hour"))
        .await
        .expect("registered");
    drop(first);
    // The membrane notices the ended stream on its own time: try until it has.
    within("the name to be free again", async {
        loop {
            match ScheduleApp::register(&test, "nightly", every("1 day")).await {
                Ok(_) => break,
                Err(status) => assert_eq!(status.code(), Code::AlreadyExists),
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn registrations_the_clouds_could_not_run_are_refused_saying_why() {
    let test = membrane().await;
    let refusal = |cadence| async {
        ScheduleApp::register(&test, "bad", cadence)
            .await
            .err()
            .expect("refused")
    };
    let status = refusal(every("30 seconds")).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("minutes, hours or days"),
        "{status:?}"
    );
    let status = refusal(Cadence::Cron(ScheduleCron {
        expression: "61 * * * *".into(),
    }))
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("minute field"), "{status:?}");
    let status = ScheduleApp::register(&test, "", every("1 minute"))
        .await
        .err()
        .expect("refused");
    assert!(
        status.message().contains("schedule_name is empty"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_cron_schedule_registers_and_waits_for_its_minute() {
    let test = membrane().await;
    // Registered, and not fired at once: its next minute is a leap day's midnight.
    let cron = Cadence::Cron(ScheduleCron {
        expression: "0 0 29 2 *".into(),
    });
    let mut app = ScheduleApp::register(&test, "weekdays", cron)
        .await
        .expect("registered");
    let nothing =
        tokio::time::timeout(Duration::from_millis(200), app.from_membrane.message()).await;
    assert!(
        nothing.is_err(),
        "a cron schedule fired at once: {nothing:?}"
    );
}
