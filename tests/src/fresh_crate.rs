//! A crate outside the workspace, made in a temporary folder, that depends
//! on this checkout's crates as a user's crate would, and cargo run on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// A fresh crate, removed when dropped.
pub struct FreshCrate {
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl FreshCrate {
    /// A crate named `name` whose manifest ends with `rest` (its dependency
    /// sections, and any `[patch]`). It is its own workspace, and has the
    /// workspace's lock file, so the versions it resolves are the ones the
    /// workspace is tested with; it builds in `target/<name>/`, so later
    /// runs are incremental.
    pub fn new(name: &str, rest: &str) -> Self {
        let dir = tempfile::tempdir().expect("create the crate's folder");
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n{rest}"
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(
            workspace().join("Cargo.lock"),
            dir.path().join("Cargo.lock"),
        )
        .unwrap();
        Self {
            dir,
            target: workspace().join("target").join(name),
        }
    }

    /// Writes `contents` to `path`, relative to the crate's root.
    pub fn write(&self, path: &str, contents: &str) {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file in the crate")).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Where the crate builds: `target/<name>/` in the workspace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Runs `cargo <args>` on the crate and returns what it printed; fails
    /// the test with cargo's output if it does not succeed.
    pub fn cargo(&self, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO"))
            .args(args)
            .arg("--manifest-path")
            .arg(self.dir.path().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run cargo");
        assert!(
            output.status.success(),
            "cargo {} of the fresh crate failed ({}):\n{}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        output
    }
}
