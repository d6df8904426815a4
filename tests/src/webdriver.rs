//! Headless Chromium for the end-to-end tests, driven over WebDriver.
//!
//! Debian's `chromium` and `chromium-driver` packages are installed when
//! missing (once per test binary; a failed install fails the test with the
//! installer's output). `chromedriver` runs as a child process in its own
//! process group, so the browsers it starts go with it, and this module
//! speaks the W3C WebDriver protocol to it: JSON over HTTP/1.1 on loopback,
//! one connection per command. Every command and every wait is bounded.
//!
//! Why not fantoccini: measured here, it would add 55 packages to
//! Cargo.lock and about 30 s of CPU to a clean build of the external tier
//! for the dozen commands this module sends; this module adds none (see
//! the note on its dependencies in tests/Cargo.toml).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use hyper::Method;
use serde_json::{json, Value};
use tokio::process::Command;

use crate::http::exchange;
use crate::{within, Process};

/// The key under which WebDriver returns an element's reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Paths of the installed `chromium` and `chromedriver`.
#[derive(Debug, Clone)]
struct Installed {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// Finds `chromium` and `chromedriver`, installing Debian's packages with
/// apt-get the first time they are missing. Panics with the installer's
/// output when that fails: the browser tests never skip.
fn installed() -> Installed {
    static INSTALLED: OnceLock<Result<Installed, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            if let Some(found) = find_installed() {
                return Ok(found);
            }
            for args in [&["update"][..], &["install", "-y", "chromium", "chromium-driver"]] {
                apt_get(args)?;
            }
            find_installed().ok_or_else(|| {
                "apt-get installed chromium and chromium-driver, yet `chromium` or `chromedriver` is not on PATH".to_owned()
            })
        })
        .clone()
        .unwrap_or_else(|error| panic!("headless Chromium is needed for this test: {error}"))
}

fn find_installed() -> Option<Installed> {
    Some(Installed {
        chromium: on_path("chromium")?,
        chromedriver: on_path("chromedriver")?,
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn apt_get(args: &[&str]) -> Result<(), String> {
    let command = format!("apt-get {}", args.join(" "));
    eprintln!("installing headless Chromium: {command}");
    let output = std::process::Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| format!("`{command}` could not run: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{command}` failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A running `chromedriver`; it and every browser it started are killed
/// when this is dropped.
pub struct Chromedriver {
    process: Process,
    port: u16,
    chromium: PathBuf,
    profiles: tempfile::TempDir,
}

impl Chromedriver {
    /// Installs Chromium if needed, starts `chromedriver` on a free port and
    /// waits until it is ready.
    pub async fn start() -> Self {
        let installed = tokio::task::spawn_blocking(installed)
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        let port = free_port();
        let mut command = Command::new(&installed.chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Its own group, so dropping this kills the browsers too.
            .process_group(0);
        let driver = Self {
            process: Process::spawn("chromedriver", command),
            port,
            chromium: installed.chromium,
            profiles: tempfile::tempdir().expect("a directory for browser profiles"),
        };
        within("chromedriver becoming ready", async {
            loop {
                if let Ok(status) = driver.command(Method::GET, "/status", None).await {
                    if status["ready"] == true {
                        return;
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        })
        .await;
        driver
    }

    /// Starts a headless browser: a WebDriver session.
    pub async fn session(&self) -> Session<'_> {
        let profile = tempfile::tempdir_in(self.profiles.path()).expect("a browser profile");
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "timeouts": { "pageLoad": 15_000, "script": 10_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": self.chromium,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--no-first-run",
                            "--window-size=1100,900",
                            format!("--user-data-dir={}", profile.keep().display()),
                        ],
                    },
                },
            },
        });
        let created = self
            .command(Method::POST, "/session", Some(capabilities))
            .await
            .unwrap_or_else(|error| panic!("chromedriver could not start Chromium: {error}"));
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_owned();
        Session {
            driver: self,
            path: format!("/session/{id}"),
        }
    }

    /// Sends one WebDriver command; `Err` carries WebDriver's error.
    async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let what = format!("WebDriver {method} {path}");
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let response = exchange(
            &format!("127.0.0.1:{}", self.port),
            method,
            path,
            &[("content-type", "application/json; charset=utf-8")],
            body,
        )
        .await?;
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|error| format!("{what}: {error}: {}", response.text()))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if (200..300).contains(&response.status) {
            Ok(value)
        } else {
            Err(format!("{what}: HTTP {}: {value}", response.status))
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // SAFETY: kill(2) has no memory effects; the group is the one
        // chromedriver leads, started by us with `process_group(0)`.
        unsafe {
            libc::kill(-(self.process.pid() as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on loopback")
        .port()
}

/// One browser, with its tabs.
pub struct Session<'a> {
    driver: &'a Chromedriver,
    path: String,
}

/// A browser tab, by its WebDriver handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab(String);

impl Session<'_> {
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .command(method, &format!("{}{path}", self.path), body)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Loads `url` in the current tab.
    pub async fn open(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current tab.
    pub async fn tab(&self) -> Tab {
        let handle = self.command(Method::GET, "/window", None).await;
        Tab(handle.as_str().expect("a window handle").to_owned())
    }

    /// Opens a new tab, without switching to it.
    pub async fn new_tab(&self) -> Tab {
        let created = self
            .command(Method::POST, "/window/new", Some(json!({ "type": "tab" })))
            .await;
        Tab(created["handle"]
            .as_str()
            .expect("a window handle")
            .to_owned())
    }

    /// Makes `tab` the one commands go to.
    pub async fn switch_to(&self, tab: &Tab) {
        self.command(Method::POST, "/window", Some(json!({ "handle": tab.0 })))
            .await;
    }

    /// The element matching the CSS `selector`.
    pub async fn find(&self, selector: &str) -> Element<'_> {
        let found = self
            .command(
                Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        Element {
            session: self,
            id: found[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no element reference in {found}"))
                .to_owned(),
        }
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn execute(&self, script: &str) -> Value {
        self.command(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits until the text of `selector` satisfies `test`; panics with
    /// the last text seen otherwise.
    pub async fn wait_for_text(
        &self,
        selector: &str,
        what: &str,
        test: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.find(selector).await.text().await;
            if test(&text) {
                return text;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; {selector} shows {text:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Closes the browser.
    pub async fn quit(self) {
        self.command(Method::DELETE, "", None).await;
    }
}

/// An element of the current tab's page.
pub struct Element<'a> {
    session: &'a Session<'a>,
    id: String,
}

impl Element<'_> {
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.session
            .command(method, &format!("/element/{}{path}", self.id), body)
            .await
    }

    /// Clicks it.
    pub async fn click(&self) {
        self.command(Method::POST, "/click", Some(json!({}))).await;
    }

    /// Empties a text field.
    pub async fn clear(&self) {
        self.command(Method::POST, "/clear", Some(json!({}))).await;
    }

    /// Types `text` into it.
    pub async fn type_text(&self, text: &str) {
        self.command(Method::POST, "/value", Some(json!({ "text": text })))
            .await;
    }

    /// Its rendered text.
    pub async fn text(&self) -> String {
        let text = self.command(Method::GET, "/text", None).await;
        text.as_str().expect("text").to_owned()
    }
}
