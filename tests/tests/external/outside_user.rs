//! The chat example, built as a user's crate outside the workspace: it
//! depends on `nitric-runtime = "0.1"` from crates.io, patched to the
//! packages `cargo package` makes of this checkout (the `.crate` files,
//! unpacked), so the build also proves the packages hold everything they
//! need. The binary then serves real websocket clients and stops on SIGTERM.

use nitric_tests::fresh_crate::{workspace, FreshCrate};
use nitric_tests::{App, Client};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The published crates, in the order they must be published.
const PUBLISHED: &[&str] = &[
    "nitric-protocol",
    "nitric-macros",
    "nitric-local",
    "nitric-runtime",
];

/// Packages the published crates into `target/package/` under `target` and
/// unpacks each `.crate` into `<target>/crates/<name>`; returns that folder.
/// `--no-verify`: building the fresh crate is the verification.
fn package_and_unpack(target: &Path) -> PathBuf {
    let mut package = Command::new(env!("CARGO"));
    package
        .args(["package", "--no-verify", "--allow-dirty", "--quiet"])
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target);
    for name in PUBLISHED {
        package.args(["-p", name]);
    }
    let output = package.output().expect("run cargo package");
    assert!(
        output.status.success(),
        "cargo package failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    // A fixed folder, and tar keeps the files' times from the archive, so
    // cargo sees the same sources on the next run and does not rebuild them.
    let crates = target.join("crates");
    if crates.exists() {
        std::fs::remove_dir_all(&crates).unwrap();
    }
    std::fs::create_dir_all(&crates).unwrap();
    for name in PUBLISHED {
        let archive = target.join(format!("package/{name}-0.1.0.crate"));
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&crates)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar could not unpack {archive:?}");
        std::fs::rename(crates.join(format!("{name}-0.1.0")), crates.join(name)).unwrap();
    }
    crates
}

#[tokio::test]
async fn the_chat_example_runs_as_a_user_crate_built_from_the_packages() {
    let chat = std::fs::read_to_string(workspace().join("examples/chat/main.rs"))
        .expect("read examples/chat/main.rs");
    let target = workspace().join("target").join("outside-user");
    let crates = package_and_unpack(&target);
    let patches: String = PUBLISHED
        .iter()
        .map(|name| {
            let path = crates.join(name).display().to_string();
            format!("{name} = {{ path = {path:?} }}\n")
        })
        .collect();
    let krate = FreshCrate::new(
        "outside-user",
        &format!(
            "[dependencies]\n\
             nitric-runtime = \"0.1\"\n\
             tracing = \"0.1\"\n\n\
             [patch.crates-io]\n{patches}"
        ),
    );
    assert_eq!(krate.target(), target);
    krate.write("src/main.rs", &chat);
    krate.cargo(&["build", "--quiet"]);

    let binary = target.join("debug/outside-user");
    let data = tempfile::tempdir().unwrap();
    let mut app = App::start(binary.to_str().unwrap(), data.path(), &[]);
    let url = app.socket_url("public").await;
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");

    let mut ada = Client::connect(&format!("{url}/?name=ada")).await;
    let mut bob = Client::connect(&format!("{url}/?name=bob")).await;
    ada.send("hello from outside").await;
    for client in [&mut ada, &mut bob] {
        assert_eq!(client.receive().await, "hello from outside");
    }
    ada.close().await;
    bob.close().await;

    app.terminate();
    let (status, output) = app.exit().await;
    assert!(
        status.success(),
        "the chat exits 0 on SIGTERM: {status}\n{output}"
    );
}
