//! A child process whose stdout and stderr are read line by line, echoed
//! with a label (the test harness shows them when a test fails), and killed
//! when dropped.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::within;

/// A running child process.
pub struct Process {
    label: String,
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
    output: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Process {
    /// Starts `command`; `label` prefixes its echoed output.
    pub fn spawn(label: &str, mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {label}: {error}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (stdout_lines, stdout) = mpsc::unbounded_channel();
        let (stderr_lines, stderr) = mpsc::unbounded_channel();
        let readers = vec![
            tokio::spawn(read_lines(
                child.stdout.take().expect("piped"),
                label.to_owned(),
                output.clone(),
                stdout_lines,
            )),
            tokio::spawn(read_lines(
                child.stderr.take().expect("piped"),
                format!("{label} (stderr)"),
                output.clone(),
                stderr_lines,
            )),
        ];
        Self {
            label: label.to_owned(),
            child,
            stdout,
            stderr,
            output,
            readers,
        }
    }

    /// Waits for a stdout line starting with `prefix` and returns the rest
    /// of it, trimmed.
    pub async fn stdout_after(&mut self, prefix: &str) -> String {
        let label = &self.label;
        within(&format!("{label} printing {prefix:?}"), async {
            loop {
                match self.stdout.recv().await {
                    Some(line) => {
                        if let Some(rest) = line.strip_prefix(prefix) {
                            return rest.trim().to_owned();
                        }
                    }
                    None => panic!(
                        "{label} closed its stdout before printing {prefix:?}; it wrote:\n{}",
                        self.output.lock().unwrap()
                    ),
                }
            }
        })
        .await
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub async fn stderr_line(&mut self, needle: &str) -> String {
        let label = &self.label;
        within(&format!("{label} logging {needle:?}"), async {
            loop {
                match self.stderr.recv().await {
                    Some(line) if line.contains(needle) => return line,
                    Some(_) => {}
                    None => panic!("{label} closed its stderr before logging {needle:?}"),
                }
            }
        })
        .await
    }

    /// Waits until every one of `needles` has appeared in a stderr line,
    /// in any order.
    pub async fn stderr_lines(&mut self, needles: &[&str]) {
        let label = &self.label;
        let mut missing: Vec<&str> = needles.to_vec();
        within(&format!("{label} logging {needles:?}"), async {
            while !missing.is_empty() {
                match self.stderr.recv().await {
                    Some(line) => missing.retain(|needle| !line.contains(needle)),
                    None => panic!("{label} closed its stderr before logging {missing:?}"),
                }
            }
        })
        .await
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// Sends SIGTERM, as a platform does to stop a service.
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill(2) with a pid we spawned and a valid signal number.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill -{signal} {pid}");
    }

    /// Waits for the process to exit; returns its status and everything it
    /// wrote (stdout and stderr, interleaved by line).
    pub async fn exit(mut self) -> (ExitStatus, String) {
        let status = within(&format!("{} exiting", self.label), self.child.wait())
            .await
            .unwrap_or_else(|error| panic!("waiting for {}: {error}", self.label));
        for reader in self.readers.drain(..) {
            let _ = within("reading the rest of the output", reader).await;
        }
        let output = self.output.lock().unwrap().clone();
        (status, output)
    }

    /// Everything written so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

async fn read_lines(
    source: impl tokio::io::AsyncRead + Unpin,
    label: String,
    output: Arc<Mutex<String>>,
    lines_read: mpsc::UnboundedSender<String>,
) {
    let mut lines = BufReader::new(source).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{label}] {line}");
        {
            let mut output = output.lock().unwrap();
            output.push_str(&line);
            output.push('\n');
        }
        // Nobody waiting for lines any more is fine; keep collecting output.
        let _ = lines_read.send(line);
    }
}
