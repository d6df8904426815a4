//! A binary whose handlers do not form a valid service refuses to start and
//! says why, naming the functions and sockets.

use nitric_tests::App;

async fn refusal(binary: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let app = App::start(binary, data.path(), &[]);
    let (status, stderr) = app.exit().await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        !data.path().join("kv.redb").exists(),
        "validation happens before the membrane starts"
    );
    stderr
}

#[tokio::test]
async fn missing_handlers_are_named() {
    let stderr = refusal(env!("CARGO_BIN_EXE_missing_handlers")).await;
    assert!(
        stderr.contains("socket \"public\" has no disconnect handler"),
        "{stderr}"
    );
    assert!(
        stderr.contains("socket \"public\" has no message handler"),
        "{stderr}"
    );
}

#[tokio::test]
async fn duplicate_handlers_are_named_with_their_locations() {
    let stderr = refusal(env!("CARGO_BIN_EXE_duplicate_handlers")).await;
    assert!(
        stderr.contains("socket \"public\" has two message handlers (\"public\" and \"Public\" are the same socket), `echo` (tests/src/bin/duplicate_handlers.rs:11) and `shout` (tests/src/bin/duplicate_handlers.rs:14); keep one"),
        "{stderr}"
    );
}
