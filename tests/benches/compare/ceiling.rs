//! The ceiling: a bare websocket echo server on tokio-tungstenite, with no
//! membrane, no gRPC and no handlers. It runs as its own process (this
//! benchmark's binary started again with [`ROLE`] set), like the app it is
//! compared with, so the clients and the server do not share a runtime.

use futures_util::{SinkExt, StreamExt};
use nitric_tests::Process;
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Set in the environment, this makes the binary the ceiling server.
pub const ROLE: &str = "NITRIC_BENCH_CEILING_SERVER";

/// The ceiling's read buffer per connection, in bytes, if not
/// tungstenite's default (128 KiB).
const READ_BUFFER: &str = "NITRIC_BENCH_CEILING_READ_BUFFER";

/// The server gives up after this long, should its parent not stop it.
const LIFETIME: Duration = Duration::from_secs(20 * 60);

const ANNOUNCE: &str = "ceiling echo listening on ";

/// Starts the ceiling server as a child process with tungstenite's default
/// settings, or with `read_buffer` bytes of read buffer per connection;
/// returns it and its URL.
pub async fn start(read_buffer: Option<usize>) -> (Process, String) {
    let binary = std::env::current_exe().expect("the path of this benchmark");
    let mut command = Command::new(binary);
    command.env(ROLE, "1");
    if let Some(bytes) = read_buffer {
        command.env(READ_BUFFER, bytes.to_string());
    }
    let mut process = Process::spawn("ceiling", command);
    let url = process.stdout_after(ANNOUNCE).await;
    (process, url)
}

/// Serves on a free loopback port until killed, its parent dies, or
/// [`LIFETIME`] has passed.
pub fn serve() {
    // SAFETY: prctl with PR_SET_PDEATHSIG and a valid signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a tokio runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{ANNOUNCE}ws://{address}");
            let _ = stdout.flush();
        }
        let mut config = WebSocketConfig::default();
        if let Some(bytes) = std::env::var(READ_BUFFER).ok().and_then(|v| v.parse().ok()) {
            config = config.read_buffer_size(bytes);
        }
        let _ = tokio::time::timeout(LIFETIME, accept_all(listener, config)).await;
    });
}

async fn accept_all(listener: TcpListener, config: WebSocketConfig) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut socket) =
                tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await
            else {
                return;
            };
            while let Some(Ok(message)) = socket.next().await {
                if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err()
                {
                    return;
                }
            }
        });
    }
}
