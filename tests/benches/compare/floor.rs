//! The I/O floor: the least CPU any process spends per echo event with one
//! event in flight. An app receives the event, sends `SendMessage` and must
//! await its answer before it answers the event, so each event is two
//! loopback round trips that wake an idle process twice. A child process
//! (this benchmark's binary started again with [`ROLE`] set) does exactly
//! that with no work in between: read an event, write a request, read the
//! response, write the answer, over one loopback connection whose other end
//! ([`Peer`]) plays the membrane. Messages are [`FRAME`] bytes, about the
//! size of an event's frame.

use nitric_tests::Process;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

/// Set in the environment (to an [`Io`]'s name), this makes the binary the
/// floor's child.
pub const ROLE: &str = "NITRIC_BENCH_IO_FLOOR";

/// The size of every message either way.
const FRAME: usize = 100;

/// Reads go into a buffer larger than a message, as an app's do: a read
/// that returns less than the buffer tells tokio the socket is drained, so
/// the next read waits in `epoll_wait` instead of trying `recvfrom` first.
const READ_BUFFER: usize = 4096;

/// The most events the child serves, well above what [`Peer`] sends.
const MAX_EVENTS: usize = 100_000;

/// The child gives up after this long, should its parent not stop it.
const LIFETIME: Duration = Duration::from_secs(5 * 60);

const ANNOUNCE: &str = "I/O floor listening on ";

/// How the child waits for its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// A tokio current-thread runtime, as the Rust app serves on: it waits
    /// in `epoll_wait`.
    Tokio,
    /// Blocking reads on one thread: it waits in `recvfrom` itself, one
    /// system call fewer per wait than any event loop.
    Blocking,
}

impl Io {
    /// Both, in the order the table shows them.
    pub const ALL: [Io; 2] = [Io::Tokio, Io::Blocking];

    /// As the table shows it, in the peer column.
    pub fn label(self) -> &'static str {
        match self {
            Io::Tokio => "I/O floor (tokio)",
            Io::Blocking => "I/O floor (blocking)",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Io::Tokio => "tokio",
            Io::Blocking => "blocking",
        }
    }
}

/// Starts the child waiting with `io` and connects to it; the child is
/// killed when the returned process is dropped.
pub async fn start(io: Io) -> (Process, Peer) {
    let binary = std::env::current_exe().expect("the path of this benchmark");
    let mut command = Command::new(binary);
    command.env(ROLE, io.name());
    let mut process = Process::spawn(io.label(), command);
    let address = process.stdout_after(ANNOUNCE).await;
    let stream = TcpStream::connect(&address)
        .await
        .unwrap_or_else(|error| panic!("connecting to the I/O floor at {address}: {error}"));
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    let peer = Peer {
        stream,
        buffer: vec![0; READ_BUFFER],
    };
    (process, peer)
}

/// The membrane's end of the child's connection.
pub struct Peer {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Peer {
    /// Plays `count` events, one at a time: writes the event, reads the
    /// request, writes the response, reads the answer. Panics if they take
    /// longer than `limit`.
    pub async fn events(&mut self, count: usize, limit: Duration) {
        let played = async {
            for _ in 0..count {
                self.exchange(b'e').await?;
                self.exchange(b'r').await?;
            }
            std::io::Result::Ok(())
        };
        tokio::time::timeout(limit, played)
            .await
            .unwrap_or_else(|_| panic!("{count} events took longer than {limit:?}"))
            .expect("the I/O floor's connection failed");
    }

    /// Writes a message of `fill` bytes and reads the child's reply.
    async fn exchange(&mut self, fill: u8) -> std::io::Result<()> {
        self.stream.write_all(&[fill; FRAME]).await?;
        if read_frame(&mut self.stream, &mut self.buffer).await? {
            Ok(())
        } else {
            Err(std::io::ErrorKind::UnexpectedEof.into())
        }
    }
}

/// Serves one connection with the [`Io`] named in [`ROLE`] until the peer
/// closes it, [`MAX_EVENTS`] are served, the parent dies, or [`LIFETIME`]
/// has passed.
pub fn serve() {
    // SAFETY: prctl with PR_SET_PDEATHSIG and a valid signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let named = std::env::var(ROLE).unwrap_or_default();
    let io = Io::ALL
        .into_iter()
        .find(|io| io.name() == named)
        .unwrap_or_else(|| panic!("{ROLE}={named:?} names no I/O model"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = listener.local_addr().expect("the bound address");
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{ANNOUNCE}{address}");
        let _ = stdout.flush();
    }
    let _ = match io {
        Io::Tokio => serve_tokio(listener),
        Io::Blocking => serve_blocking(listener),
    };
}

fn serve_tokio(listener: TcpListener) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let served = async {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let mut buffer = vec![0; READ_BUFFER];
            for _ in 0..MAX_EVENTS {
                if !read_frame(&mut stream, &mut buffer).await? {
                    break;
                }
                stream.write_all(&[b'q'; FRAME]).await?;
                if !read_frame(&mut stream, &mut buffer).await? {
                    break;
                }
                stream.write_all(&[b'a'; FRAME]).await?;
            }
            Ok(())
        };
        tokio::time::timeout(LIFETIME, served)
            .await
            .unwrap_or(Ok(()))
    })
}

fn serve_blocking(listener: TcpListener) -> std::io::Result<()> {
    let deadline = Instant::now() + LIFETIME;
    // Accepting without blocking, so that a parent that never connects
    // cannot keep the child past its lifetime.
    listener.set_nonblocking(true)?;
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => return Err(error),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    // Bounds each wait; setting it costs nothing per read.
    stream.set_read_timeout(Some(LIFETIME))?;
    let mut buffer = vec![0; READ_BUFFER];
    let mut read_frame = |stream: &mut std::net::TcpStream| -> std::io::Result<bool> {
        let mut got = 0;
        while got < FRAME {
            match stream.read(&mut buffer)? {
                0 => return Ok(false),
                n => got += n,
            }
        }
        Ok(true)
    };
    for _ in 0..MAX_EVENTS {
        if Instant::now() >= deadline || !read_frame(&mut stream)? {
            break;
        }
        stream.write_all(&[b'q'; FRAME])?;
        if !read_frame(&mut stream)? {
            break;
        }
        stream.write_all(&[b'a'; FRAME])?;
    }
    Ok(())
}

/// Reads one message of [`FRAME`] bytes into `buffer`; `false` if the
/// connection closed first. With one message in flight the other end sends
/// nothing more until this one is answered, so no read returns more.
async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut [u8],
) -> std::io::Result<bool> {
    let mut got = 0;
    while got < FRAME {
        match stream.read(buffer).await? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(true)
}
