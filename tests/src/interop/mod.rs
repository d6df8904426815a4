//! Interoperability with the official Nitric SDKs: apps written with the
//! Node SDK (`@nitric/sdk`) and the Python SDK (`nitric`), from
//! `tests/interop/`, run against this project's `nitric-local` binary and
//! against the recording membrane.
//!
//! The SDKs are installed by the tests themselves, at the versions pinned in
//! `tests/interop/node/package-lock.json` and
//! `tests/interop/python/requirements.txt`, into `target/interop/` (see
//! [`install`]).

pub mod install;
mod membrane;
#[cfg(feature = "external")]
pub mod routes;
pub mod scenarios;

use crate::Process;
use tokio::process::Command;

pub use membrane::Membrane;

/// One of the official SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    /// `@nitric/sdk` on npm, apps in `tests/interop/node/<app>.js`.
    Node,
    /// `nitric` on PyPI, apps in `tests/interop/python/<app>.py`.
    Python,
}

impl Sdk {
    /// `node` or `python`, as in file and fixture names.
    pub fn name(self) -> &'static str {
        match self {
            Sdk::Node => "node",
            Sdk::Python => "python",
        }
    }

    /// Installs this SDK if needed (panicking with the reason when that
    /// fails), so that the first app start is not slowed by it.
    pub fn install(self) {
        if let Err(error) = self.try_install() {
            panic!("{error}");
        }
    }

    /// Installs this SDK if needed; `Err` says why it cannot be.
    pub fn try_install(self) -> Result<(), String> {
        let installed = match self {
            Sdk::Node => install::try_node_modules(),
            Sdk::Python => install::try_python(),
        };
        installed.as_ref().map(drop).map_err(Clone::clone)
    }

    /// A command that runs `app` (`chat`, `denied`, `echo`, `greeting` or
    /// `routes`)
    /// with this SDK, talking to the membrane at `service_address`. The SDK
    /// is installed first if needed.
    pub fn command(self, app: &str, service_address: &str) -> Command {
        let folder = install::sources().join(self.name());
        let mut command = match self {
            Sdk::Node => {
                let mut command = Command::new("node");
                command
                    .arg(folder.join(format!("{app}.js")))
                    .env("NODE_PATH", install::node_modules());
                command
            }
            Sdk::Python => {
                let mut command = Command::new(install::python());
                command
                    .arg(folder.join(format!("{app}.py")))
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                command
            }
        };
        command
            .current_dir(&folder)
            .env("SERVICE_ADDRESS", service_address)
            .env_remove("NITRIC_ENVIRONMENT");
        command
    }

    /// Starts `app` against `membrane`.
    pub fn start(self, app: &str, membrane: &Membrane) -> Process {
        self.install();
        Process::spawn(
            &format!("{} {app}", self.name()),
            self.command(app, membrane.address()),
        )
    }
}
