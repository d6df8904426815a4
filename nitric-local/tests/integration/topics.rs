//! `Topics.Publish` and `Subscriber.Subscribe`: fan-out, redelivery, delays,
//! and messages waiting for a first subscriber.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nitric_local::{TopicDelivery, TopicLimits};
use nitric_protocol::prost_types::{self, value::Kind, Struct, Value};
use nitric_protocol::resources::v1::{Action, ResourceType};
use nitric_protocol::topics::v1::subscriber_client::SubscriberClient;
use nitric_protocol::topics::v1::topics_client::TopicsClient;
use nitric_protocol::topics::v1::{
    client_message, server_message, topic_message, ClientMessage, MessageResponse,
    RegistrationRequest, ServerMessage, TopicMessage, TopicPublishRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

use crate::common::{within, TestMembrane};

/// How long a subscriber must hear nothing to count as quiet: many times
/// the longest backoff of [`fast`] deliveries.
const QUIET: Duration = Duration::from_millis(400);

/// Deliveries whose retries follow each other within milliseconds.
fn fast() -> TopicDelivery {
    TopicDelivery {
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..TopicDelivery::default()
    }
}

async fn membrane() -> TestMembrane {
    membrane_with(fast()).await
}

/// The topics the tests publish to; each membrane declares them with the
/// publish permission, as an application does.
const TOPICS: [&str; 8] = [
    "orders",
    "invoices",
    "signups",
    "jobs",
    "reminders",
    "early",
    "other",
    "nobody",
];

async fn membrane_with(delivery: TopicDelivery) -> TestMembrane {
    let test = TestMembrane::start_with(|config| config.topic_delivery = delivery).await;
    for topic in TOPICS {
        test.allow(ResourceType::Topic, topic, &[Action::TopicPublish])
            .await;
    }
    test
}

/// `{"n": n}`: a payload telling messages apart.
fn numbered(n: u32) -> Struct {
    Struct {
        fields: BTreeMap::from([(
            "n".to_owned(),
            Value {
                kind: Some(Kind::NumberValue(n.into())),
            },
        )]),
    }
}

fn number_of(payload: &Struct) -> u32 {
    match payload.fields.get("n").and_then(|n| n.kind.as_ref()) {
        Some(Kind::NumberValue(n)) => *n as u32,
        other => panic!("expected a numbered payload, got {other:?}"),
    }
}

fn request(topic: &str, payload: Struct) -> TopicPublishRequest {
    TopicPublishRequest {
        topic_name: topic.to_owned(),
        message: Some(TopicMessage {
            content: Some(topic_message::Content::StructPayload(payload)),
        }),
        delay: None,
    }
}

async fn publish(channel: &Channel, request: TopicPublishRequest) -> Result<(), Status> {
    within(
        "the publish answer",
        TopicsClient::new(channel.clone()).publish(request),
    )
    .await
    .map(|_| ())
}

/// One `Subscribe` stream, seen from the application.
struct Subscriber {
    topic: String,
    to_membrane: mpsc::Sender<ClientMessage>,
    from_membrane: Streaming<ServerMessage>,
}

/// A message received, with the id to answer it under.
struct Received {
    id: String,
    payload: Struct,
}

impl Subscriber {
    /// Opens a stream subscribed to `topic`; the error is the refusal.
    async fn register(channel: &Channel, topic: &str) -> Result<Subscriber, Status> {
        let registration = ClientMessage {
            id: "registration".to_owned(),
            content: Some(client_message::Content::RegistrationRequest(
                RegistrationRequest {
                    topic_name: topic.to_owned(),
                },
            )),
        };
        let mut subscriber = Self::open(channel, topic, registration).await?;
        let first = subscriber
            .next_message()
            .await?
            .expect("an answer before the stream ends");
        assert!(
            matches!(
                first.content,
                Some(server_message::Content::RegistrationResponse(_))
            ),
            "expected a registration_response, got {first:?}"
        );
        Ok(subscriber)
    }

    /// Opens a stream whose first message is `first`.
    async fn open(channel: &Channel, topic: &str, first: ClientMessage) -> Result<Self, Status> {
        let (to_membrane, outgoing) = mpsc::channel(16);
        to_membrane.send(first).await.unwrap();
        let from_membrane = within(
            "the stream to open",
            SubscriberClient::new(channel.clone()).subscribe(ReceiverStream::new(outgoing)),
        )
        .await?
        .into_inner();
        Ok(Self {
            topic: topic.to_owned(),
            to_membrane,
            from_membrane,
        })
    }

    async fn next_message(&mut self) -> Result<Option<ServerMessage>, Status> {
        within("a message from the membrane", self.from_membrane.message()).await
    }

    /// The next message delivered, checked to be for this stream's topic.
    async fn next(&mut self) -> Received {
        let message = self
            .next_message()
            .await
            .expect("the stream is healthy")
            .expect("the stream is open");
        received(&self.topic, message)
    }

    /// Expects nothing more for a while.
    async fn assert_quiet(&mut self) {
        if let Ok(message) = tokio::time::timeout(QUIET, self.from_membrane.message()).await {
            panic!("expected no further message, got {message:?}");
        }
    }

    async fn answer(&self, id: &str, success: bool) {
        self.to_membrane
            .send(ClientMessage {
                id: id.to_owned(),
                content: Some(client_message::Content::MessageResponse(MessageResponse {
                    success,
                })),
            })
            .await
            .expect("the stream is open");
    }
}

fn received(topic: &str, message: ServerMessage) -> Received {
    let Some(server_message::Content::MessageRequest(request)) = message.content else {
        panic!("expected a message_request, got {message:?}");
    };
    assert_eq!(request.topic_name, topic);
    assert!(!message.id.is_empty(), "a message comes with an id");
    match request.message.and_then(|message| message.content) {
        Some(topic_message::Content::StructPayload(payload)) => Received {
            id: message.id,
            payload,
        },
        None => panic!("a message without a payload"),
    }
}

#[tokio::test]
async fn a_subscriber_receives_what_is_published_and_answers_by_id() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut orders = Subscriber::register(&channel, "orders").await.unwrap();
    let mut invoices = Subscriber::register(&channel, "invoices").await.unwrap();

    publish(&channel, request("orders", numbered(1)))
        .await
        .unwrap();
    publish(&channel, request("orders", numbered(2)))
        .await
        .unwrap();
    let first = orders.next().await;
    let second = orders.next().await;
    assert_ne!(first.id, second.id);
    let numbers = BTreeSet::from([number_of(&first.payload), number_of(&second.payload)]);
    assert_eq!(numbers, BTreeSet::from([1, 2]));

    // An unknown id is ignored; the real answers may come in any order.
    orders.answer("no-such-message", true).await;
    orders.answer(&second.id, true).await;
    orders.answer(&first.id, true).await;
    orders.assert_quiet().await;
    invoices.assert_quiet().await;
}

#[tokio::test]
async fn every_subscriber_stream_of_the_topic_receives_every_message() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut mailer = Subscriber::register(&channel, "signups").await.unwrap();
    let mut audit = Subscriber::register(&channel, "signups").await.unwrap();

    publish(&channel, request("signups", numbered(7)))
        .await
        .unwrap();

    for subscriber in [&mut mailer, &mut audit] {
        let message = subscriber.next().await;
        assert_eq!(message.payload, numbered(7));
        subscriber.answer(&message.id, true).await;
    }
    mailer.assert_quiet().await;
    audit.assert_quiet().await;
}

#[tokio::test]
async fn a_refused_message_is_redelivered_until_it_succeeds() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut subscriber = Subscriber::register(&channel, "jobs").await.unwrap();

    publish(&channel, request("jobs", numbered(3)))
        .await
        .unwrap();

    let mut ids = BTreeSet::new();
    for success in [false, false, true] {
        let message = subscriber.next().await;
        assert_eq!(message.payload, numbered(3));
        assert!(
            ids.insert(message.id.clone()),
            "each delivery has a fresh id"
        );
        subscriber.answer(&message.id, success).await;
    }
    subscriber.assert_quiet().await;
}

#[tokio::test]
async fn a_message_that_always_fails_is_tried_the_maximum_number_of_times() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut subscriber = Subscriber::register(&channel, "jobs").await.unwrap();

    publish(&channel, request("jobs", numbered(4)))
        .await
        .unwrap();

    let mut attempts = 0;
    while let Ok(message) = tokio::time::timeout(QUIET, subscriber.from_membrane.message()).await {
        let message = received("jobs", message.unwrap().expect("the stream is open"));
        assert_eq!(message.payload, numbered(4));
        attempts += 1;
        subscriber.answer(&message.id, false).await;
    }
    assert_eq!(attempts, TopicDelivery::default().max_attempts);

    // The stream still works after the message was dropped.
    publish(&channel, request("jobs", numbered(5)))
        .await
        .unwrap();
    let message = subscriber.next().await;
    assert_eq!(message.payload, numbered(5));
    subscriber.answer(&message.id, true).await;
}

#[tokio::test]
async fn an_unanswered_message_is_redelivered_after_the_answer_timeout() {
    let test = membrane_with(TopicDelivery {
        answer_timeout: Duration::from_millis(200),
        ..fast()
    })
    .await;
    let channel = test.channel().await;
    let mut subscriber = Subscriber::register(&channel, "jobs").await.unwrap();

    publish(&channel, request("jobs", numbered(6)))
        .await
        .unwrap();

    let ignored = subscriber.next().await;
    let again = subscriber.next().await;
    assert_eq!(again.payload, numbered(6));
    assert_ne!(again.id, ignored.id);
    // Too late: the first attempt has already failed, and is not settled again.
    subscriber.answer(&ignored.id, true).await;
    subscriber.answer(&again.id, true).await;
    subscriber.assert_quiet().await;
}

#[tokio::test]
async fn a_message_pending_on_an_ended_stream_goes_to_the_next_subscriber() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut crashing = Subscriber::register(&channel, "jobs").await.unwrap();

    publish(&channel, request("jobs", numbered(8)))
        .await
        .unwrap();
    let unanswered = crashing.next().await;
    assert_eq!(unanswered.payload, numbered(8));
    drop(crashing);

    // The application restarts and subscribes again.
    let mut restarted = Subscriber::register(&channel, "jobs").await.unwrap();
    let message = restarted.next().await;
    assert_eq!(message.payload, numbered(8));
    restarted.answer(&message.id, true).await;
    restarted.assert_quiet().await;
}

#[tokio::test]
async fn a_delayed_message_arrives_no_earlier_than_its_delay() {
    let test = membrane().await;
    let channel = test.channel().await;
    let mut subscriber = Subscriber::register(&channel, "reminders").await.unwrap();
    let delay = Duration::from_millis(300);

    let published = Instant::now();
    publish(
        &channel,
        TopicPublishRequest {
            delay: Some(prost_types::Duration {
                seconds: 0,
                nanos: delay.as_nanos() as i32,
            }),
            ..request("reminders", numbered(9))
        },
    )
    .await
    .unwrap();
    let message = subscriber.next().await;

    // The delay is what is under test, and only a lower bound is checked:
    // a loaded machine makes the wait longer, never shorter.
    assert!(
        published.elapsed() >= delay,
        "delivered after {:?}, before the delay of {delay:?}",
        published.elapsed()
    );
    assert_eq!(message.payload, numbered(9));
    subscriber.answer(&message.id, true).await;
}

#[tokio::test]
async fn messages_published_before_anyone_subscribes_go_to_the_first_subscriber() {
    let test = membrane().await;
    let channel = test.channel().await;
    for n in 1..=3 {
        publish(&channel, request("early", numbered(n)))
            .await
            .unwrap();
    }

    let mut subscriber = Subscriber::register(&channel, "early").await.unwrap();
    let mut numbers = BTreeSet::new();
    for _ in 1..=3 {
        let message = subscriber.next().await;
        numbers.insert(number_of(&message.payload));
        subscriber.answer(&message.id, true).await;
    }
    assert_eq!(numbers, BTreeSet::from([1, 2, 3]));
    subscriber.assert_quiet().await;
}

/// `{"text": "xxx..."}` with `chars` x's.
fn text(chars: usize) -> Struct {
    Struct {
        fields: BTreeMap::from([(
            "text".to_owned(),
            Value {
                kind: Some(Kind::StringValue("x".repeat(chars))),
            },
        )]),
    }
}

fn delayed(request: TopicPublishRequest, seconds: i64) -> TopicPublishRequest {
    TopicPublishRequest {
        delay: Some(prost_types::Duration { seconds, nanos: 0 }),
        ..request
    }
}

async fn limited(limits: TopicLimits) -> TestMembrane {
    let test = TestMembrane::start_with(|config| {
        config.topic_delivery = fast();
        config.topic_limits = limits;
    })
    .await;
    for topic in TOPICS {
        test.allow(ResourceType::Topic, topic, &[Action::TopicPublish])
            .await;
    }
    test
}

#[tokio::test]
async fn messages_held_across_all_topics_are_bounded_in_number() {
    let test = limited(TopicLimits {
        max_messages: 2,
        ..TopicLimits::default()
    })
    .await;
    let channel = test.channel().await;
    // One queued for a subscriber, one waiting for its delay.
    publish(&channel, request("early", numbered(1)))
        .await
        .unwrap();
    publish(&channel, delayed(request("other", numbered(2)), 1))
        .await
        .unwrap();

    let refusal = publish(&channel, request("jobs", numbered(3)))
        .await
        .expect_err("the bound is reached");
    assert_eq!(refusal.code(), Code::ResourceExhausted);
    assert!(
        refusal.message().contains("\"jobs\"")
            && refusal.message().contains("holds 2 topic messages")
            && refusal
                .message()
                .contains("limit on the number of messages"),
        "{}",
        refusal.message()
    );

    // Delivered messages make room again.
    let mut early = Subscriber::register(&channel, "early").await.unwrap();
    let mut other = Subscriber::register(&channel, "other").await.unwrap();
    for subscriber in [&mut early, &mut other] {
        let message = subscriber.next().await;
        subscriber.answer(&message.id, true).await;
    }
    within("room for a message", async {
        while publish(&channel, request("jobs", numbered(4)))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn messages_held_across_all_topics_are_bounded_in_bytes() {
    let test = limited(TopicLimits {
        max_bytes: 1000,
        ..TopicLimits::default()
    })
    .await;
    let channel = test.channel().await;
    publish(&channel, delayed(request("reminders", text(600)), 3600))
        .await
        .unwrap();

    let refusal = publish(&channel, request("early", text(600)))
        .await
        .expect_err("the bytes would exceed the bound");
    assert_eq!(refusal.code(), Code::ResourceExhausted);
    let message = refusal.message();
    assert!(
        message.contains("\"early\"")
            && message.contains("limit on bytes across all topics is 1000")
            && !message.contains("number of messages"),
        "{message}"
    );
    // A small message still fits.
    publish(&channel, request("early", numbered(1)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_delay_beyond_the_maximum_is_invalid() {
    let test = membrane().await;
    let channel = test.channel().await;
    let week = 7 * 24 * 60 * 60;
    let status = publish(
        &channel,
        delayed(request("reminders", numbered(1)), week + 1),
    )
    .await
    .expect_err("more than 7 days is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("\"reminders\"")
            && status.message().contains("longer than the longest delay")
            && status.message().contains("604800s"),
        "{}",
        status.message()
    );
    publish(&channel, delayed(request("reminders", numbered(1)), week))
        .await
        .expect("exactly the maximum is accepted");

    let test = limited(TopicLimits {
        max_delay: Duration::from_secs(60),
        ..TopicLimits::default()
    })
    .await;
    let channel = test.channel().await;
    let status = publish(&channel, delayed(request("reminders", numbered(1)), 61))
        .await
        .expect_err("beyond the configured maximum");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn invalid_publishes_are_refused() {
    let test = membrane().await;
    let channel = test.channel().await;
    let delayed = |seconds, nanos| TopicPublishRequest {
        delay: Some(prost_types::Duration { seconds, nanos }),
        ..request("jobs", numbered(1))
    };
    let cases = [
        ("no topic", request("", numbered(1))),
        (
            "no message",
            TopicPublishRequest {
                message: None,
                ..request("jobs", numbered(1))
            },
        ),
        (
            "no payload",
            TopicPublishRequest {
                message: Some(TopicMessage { content: None }),
                ..request("jobs", numbered(1))
            },
        ),
        ("a negative delay", delayed(-1, 0)),
        ("a negative fraction of a second", delayed(0, -5)),
        ("nanos beyond a second", delayed(0, 1_000_000_000)),
        ("mixed signs", delayed(1, -1)),
    ];
    for (case, request) in cases {
        let status = publish(&channel, request)
            .await
            .expect_err(&format!("{case} is refused"));
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
    }
}

#[tokio::test]
async fn the_first_message_of_a_subscription_must_be_a_registration() {
    let test = membrane().await;
    let channel = test.channel().await;
    let not_a_registration = ClientMessage {
        id: "1".to_owned(),
        content: Some(client_message::Content::MessageResponse(MessageResponse {
            success: true,
        })),
    };
    let mut stream = Subscriber::open(&channel, "jobs", not_a_registration)
        .await
        .expect("the stream opens");
    let status = stream.next_message().await.expect_err("the stream fails");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("registration_request"),
        "{}",
        status.message()
    );

    let status = Subscriber::register(&channel, "")
        .await
        .err()
        .expect("an empty topic name is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn shutdown_drops_pending_messages_instead_of_waiting_for_them() {
    let TestMembrane {
        membrane,
        data: _data,
    } = membrane().await;
    let channel = crate::common::connect(membrane.grpc_addr().expect("a gRPC listener")).await;
    let mut subscriber = Subscriber::register(&channel, "jobs").await.unwrap();
    // One message waits for its answer, one for its delay, one for a subscriber.
    publish(&channel, request("jobs", numbered(1)))
        .await
        .unwrap();
    subscriber.next().await;
    publish(
        &channel,
        TopicPublishRequest {
            delay: Some(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            }),
            ..request("jobs", numbered(2))
        },
    )
    .await
    .unwrap();
    publish(&channel, request("nobody", numbered(3)))
        .await
        .unwrap();

    // Well under the membrane's own grace period for busy tasks.
    tokio::time::timeout(Duration::from_secs(4), membrane.shutdown())
        .await
        .expect("shutdown does not wait for undelivered messages");
    assert!(matches!(subscriber.next_message().await, Ok(None) | Err(_)));
}

#[tokio::test]
async fn publishing_needs_the_publish_policy_and_subscribing_does_not() {
    let test = membrane().await;
    // Declared, but without the publish permission.
    test.allow(ResourceType::Topic, "audit", &[]).await;
    let channel = test.channel().await;
    let mut subscriber = Subscriber::register(&channel, "audit").await.unwrap();

    for topic in ["audit", "undeclared"] {
        let status = publish(&channel, request(topic, numbered(1)))
            .await
            .expect_err("publishing is refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert_eq!(
            status.message(),
            format!(
                "topic \"{topic}\": this service has no policy allowing TopicPublish; declare the topic \
                 with the \"publish\" permission (Rust: allow = [publish]; Node and Python: .allow(\"publish\"))"
            )
        );
    }
    subscriber.assert_quiet().await;

    test.allow(ResourceType::Topic, "audit", &[Action::TopicPublish])
        .await;
    publish(&channel, request("audit", numbered(2)))
        .await
        .unwrap();
    let message = subscriber.next().await;
    assert_eq!(message.payload, numbered(2));
    subscriber.answer(&message.id, true).await;
}
