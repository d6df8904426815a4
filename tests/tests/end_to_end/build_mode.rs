//! Requirement collection (`NITRIC_ENVIRONMENT=build`): the service declares
//! everything the way the official SDKs do, registers its handlers, and exits
//! 0 once the membrane ends the streams.

use nitric_tests::recording_membrane::RecordingMembrane;
use nitric_tests::App;

#[tokio::test]
async fn the_chat_declares_and_registers_then_exits_zero() {
    let membrane = RecordingMembrane::start().await;
    let data = tempfile::tempdir().unwrap();
    let app = App::start(
        env!("CARGO_BIN_EXE_chat"),
        data.path(),
        &[
            ("SERVICE_ADDRESS", &membrane.address()),
            ("NITRIC_ENVIRONMENT", "build"),
        ],
    );
    let (status, stderr) = app.exit().await;
    assert!(status.success(), "{status}\n{stderr}");

    let transcript = membrane.transcript();
    let (declarations, registrations) = transcript.split_at(4);
    assert_eq!(
        declarations,
        [
            "declare Websocket \"public\"",
            "declare Policy \"\" policy principals=[Service \"\"] actions=[WebsocketManage] resources=[Websocket \"public\"]",
            "declare KeyValueStore \"connections\" key_value_store",
            "declare Policy \"\" policy principals=[Service \"\"] actions=[KeyValueStoreDelete, KeyValueStoreRead, KeyValueStoreWrite] resources=[KeyValueStore \"connections\"]",
        ],
        "every declaration comes before any registration"
    );
    let mut registrations = registrations.to_vec();
    registrations.sort();
    assert_eq!(
        registrations,
        [
            "register websocket \"public\" Connect",
            "register websocket \"public\" Disconnect",
            "register websocket \"public\" Message",
        ]
    );
    assert!(
        !data.path().join("kv.redb").exists(),
        "no local membrane starts in build mode"
    );
}
