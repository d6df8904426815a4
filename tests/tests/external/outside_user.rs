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

    // `cargo package` gives every file one fixed time, so unpacking over
    // the last run's sources would hide what changed from cargo. Unpack
    // aside, then write into the fixed folder only the files whose bytes
    // differ: those get a new time and are rebuilt, the rest keep theirs.
    let unpacked = target.join("unpacked");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked).unwrap();
    }
    std::fs::create_dir_all(&unpacked).unwrap();
    let crates = target.join("crates");
    for name in PUBLISHED {
        let archive = target.join(format!("package/{name}-0.1.0.crate"));
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar could not unpack {archive:?}");
        sync_tree(&unpacked.join(format!("{name}-0.1.0")), &crates.join(name));
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

/// Makes `to` hold what `from` holds: writes the files that are new or
/// whose bytes differ, leaves identical ones (and their times) alone, and
/// removes what `from` lacks.
fn sync_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut wanted = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, destination) = (entry.path(), to.join(entry.file_name()));
        wanted.insert(entry.file_name());
        if source.is_dir() {
            sync_tree(&source, &destination);
            continue;
        }
        let bytes = std::fs::read(&source).unwrap();
        if std::fs::read(&destination).ok().as_deref() != Some(bytes.as_slice()) {
            if destination.is_dir() {
                std::fs::remove_dir_all(&destination).unwrap();
            }
            std::fs::write(&destination, bytes).unwrap();
        }
    }
    for entry in std::fs::read_dir(to).unwrap() {
        let entry = entry.unwrap();
        if !wanted.contains(&entry.file_name()) {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
}
