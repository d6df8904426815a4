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
        let (sender, stdout) = mpsc::unbounded_channel();
        let readers = vec![
            tokio::spawn(read_lines(
                child.stdout.take().expect("piped"),
                label.to_owned(),
                output.clone(),
                Some(sender),
            )),
            tokio::spawn(read_lines(
                child.stderr.take().expect("piped"),
                format!("{label} (stderr)"),
                output.clone(),
                None,
            )),
        ];
        Self {
            label: label.to_owned(),
            child,
            stdout,
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
    stdout: Option<mpsc::UnboundedSender<String>>,
) {
    let mut lines = BufReader::new(source).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{label}] {line}");
        {
            let mut output = output.lock().unwrap();
            output.push_str(&line);
            output.push('\n');
        }
        if let Some(stdout) = &stdout {
            let _ = stdout.send(line);
        }
    }
}
