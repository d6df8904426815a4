//! gRPC connections from inside the membrane's own process.
//!
//! An application that embeds the membrane would otherwise reach it over
//! loopback TCP, and every event would cross the kernel's TCP stack twice
//! each way: a system call per write and a wake-up per read on both sides.
//! An [`InProcessConnector`] hands out the membrane's end of an in-memory
//! pipe instead, served by the same gRPC server with the same settings as
//! its TCP connections: the bytes on the pipe are the same HTTP/2 (h2c)
//! gRPC, only the kernel is gone.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::StreamExt;
use tonic::transport::server::{Connected, TcpIncoming};

/// How many bytes one direction of a pipe holds before its writer waits:
/// a burst of answers or broadcast sends goes through in a few wake-ups.
const PIPE_CAPACITY: usize = 256 * 1024;

/// Opens in-process gRPC connections to a running membrane; cheap to clone.
/// Get one from [`LocalMembrane::in_process`](crate::LocalMembrane::in_process).
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let membrane = nitric_local::start(nitric_local::Config::default()).await?;
/// let connector = membrane.in_process();
/// // Speak h2c gRPC on it, exactly as on a TCP connection to `grpc_addr()`.
/// let pipe: tokio::io::DuplexStream = connector.connect()?;
/// # drop(pipe);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct InProcessConnector {
    accept: mpsc::UnboundedSender<DuplexStream>,
}

impl InProcessConnector {
    /// A new connection: the caller's end of a pipe whose other end the
    /// membrane's gRPC server now serves. Fails with
    /// [`io::ErrorKind::NotConnected`] once the membrane has stopped.
    pub fn connect(&self) -> io::Result<DuplexStream> {
        let (ours, theirs) = tokio::io::duplex(PIPE_CAPACITY);
        self.accept.send(theirs).map_err(|_| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "the local membrane has stopped",
            )
        })?;
        Ok(ours)
    }
}

/// The connections the gRPC server takes: accepted from its TCP listener,
/// or opened through its [`InProcessConnector`].
pub(crate) fn incoming(
    tcp: TcpIncoming,
) -> (
    InProcessConnector,
    impl Stream<Item = io::Result<GrpcConnection>>,
) {
    let (accept, accepted) = mpsc::unbounded_channel();
    let in_process =
        UnboundedReceiverStream::new(accepted).map(|pipe| Ok(GrpcConnection::InProcess(pipe)));
    let connections = tcp
        .map(|accepted| accepted.map(GrpcConnection::Tcp))
        .merge(in_process);
    (InProcessConnector { accept }, connections)
}

/// One connection the gRPC server serves.
pub(crate) enum GrpcConnection {
    Tcp(TcpStream),
    InProcess(DuplexStream),
}

impl Connected for GrpcConnection {
    // No service reads where a request came from.
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for GrpcConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GrpcConnection::Tcp(tcp) => Pin::new(tcp).poll_read(context, buf),
            GrpcConnection::InProcess(pipe) => Pin::new(pipe).poll_read(context, buf),
        }
    }
}

impl AsyncWrite for GrpcConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GrpcConnection::Tcp(tcp) => Pin::new(tcp).poll_write(context, buf),
            GrpcConnection::InProcess(pipe) => Pin::new(pipe).poll_write(context, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GrpcConnection::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(context, bufs),
            GrpcConnection::InProcess(pipe) => Pin::new(pipe).poll_write_vectored(context, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            GrpcConnection::Tcp(tcp) => tcp.is_write_vectored(),
            GrpcConnection::InProcess(pipe) => pipe.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GrpcConnection::Tcp(tcp) => Pin::new(tcp).poll_flush(context),
            GrpcConnection::InProcess(pipe) => Pin::new(pipe).poll_flush(context),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GrpcConnection::Tcp(tcp) => Pin::new(tcp).poll_shutdown(context),
            GrpcConnection::InProcess(pipe) => Pin::new(pipe).poll_shutdown(context),
        }
    }
}
