//! Mistakes in how a service is started end it at once with a clear
//! message and status 1, instead of retrying forever or silently doing
//! something else.

use nitric_tests::App;

const CHAT: &str = env!("CARGO_BIN_EXE_chat");

#[tokio::test]
async fn a_gateway_port_already_in_use_is_a_startup_error() {
    let data = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let app = App::start(CHAT, data.path(), &[("NITRIC_LOCAL_WS_PORT", &port)]);
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{output}"
    );
    assert!(output.contains("NITRIC_LOCAL_WS_PORT"), "{output}");
    assert!(!output.contains("retrying"), "no retries: {output}");
}

#[tokio::test]
async fn a_cloud_environment_without_the_membranes_address_is_a_startup_error() {
    let data = tempfile::tempdir().unwrap();
    let app = App::start(CHAT, data.path(), &[("NITRIC_ENVIRONMENT", "cloud")]);
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("NITRIC_ENVIRONMENT=cloud but SERVICE_ADDRESS is unset"),
        "{output}"
    );
}

#[tokio::test]
async fn a_message_size_no_client_queue_could_hold_is_a_startup_error() {
    let data = tempfile::tempdir().unwrap();
    let app = App::start(
        CHAT,
        data.path(),
        &[("NITRIC_LOCAL_MAX_MESSAGE_SIZE", "8MiB")],
    );
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("max_queued_bytes (1048576) is less than max_message_size (8388608)"),
        "{output}"
    );
    let app = App::start(
        CHAT,
        data.path(),
        &[("NITRIC_LOCAL_MAX_MESSAGE_SIZE", "lots")],
    );
    let (status, output) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("NITRIC_LOCAL_MAX_MESSAGE_SIZE=\"lots\": expected a size in bytes"),
        "{output}"
    );
}
