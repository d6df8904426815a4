//! Accepting connections when file descriptors run out.
//!
//! Each accepted connection takes a descriptor. When none is left, `accept`
//! fails (EMFILE for this process, ENFILE for the system) but the kernel
//! has already completed the connection's TCP handshake and keeps it in
//! the listen queue: the client sends its request and waits for an answer
//! that cannot come before a descriptor is freed. Retrying a while later
//! (what `axum::serve` does, and what the gateway did) leaves every new
//! client hanging for as long as the shortage lasts, until its own
//! timeout; retrying at once spins (tonic's own accept loop does that).
//!
//! So an [`Acceptor`] keeps one descriptor in reserve, `/dev/null` opened.
//! When `accept` fails for lack of descriptors, it gives the reserve up,
//! accepts the waiting connection with it, sends it the refusal it was
//! given (an HTTP 503 for a gateway), closes it, and takes the reserve
//! back. New clients learn at once that the membrane is full; the clients
//! it has are not disturbed; and once some close, `accept` succeeds again
//! by itself. When the reserve cannot be taken back (another part of the
//! process got the descriptor first), it waits [`PAUSE`] before trying
//! again, so it never spins.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::net::{TcpListener, TcpStream};

/// How long to wait before accepting again after a failure that the
/// reserve descriptor cannot get around.
pub(crate) const PAUSE: Duration = Duration::from_millis(100);

/// A listener that refuses connections it has no descriptor for instead of
/// leaving them queued.
pub(crate) struct Acceptor {
    listener: TcpListener,
    /// What accepts one connection when no other descriptor is left.
    reserve: Option<File>,
    /// Sent to a connection refused for lack of descriptors, before it is
    /// closed.
    refusal: &'static [u8],
    /// Names the listener in logs.
    what: &'static str,
    /// Connections refused since descriptors ran out, while they are out.
    refused: Option<usize>,
}

impl Acceptor {
    /// Accepts from `listener`, sending `refusal` to connections refused
    /// for lack of descriptors; `what` names the listener in logs.
    pub(crate) fn new(listener: TcpListener, refusal: &'static [u8], what: &'static str) -> Self {
        Self {
            listener,
            reserve: open_reserve(),
            refusal,
            what,
            refused: None,
        }
    }

    /// The next connection. Cancel-safe: dropped while waiting, it loses no
    /// connection and keeps its reserve.
    pub(crate) async fn accept(&mut self) -> TcpStream {
        loop {
            match self.listener.accept().await {
                Ok((stream, _peer)) => {
                    if let Some(refused) = self.refused.take() {
                        tracing::info!(
                            listener = self.what,
                            refused,
                            "accepting connections again: file descriptors were freed"
                        );
                    }
                    return stream;
                }
                Err(error) if is_out_of_descriptors(&error) => {
                    if self.refused.is_none() {
                        self.refused = Some(0);
                        tracing::warn!(listener = self.what, %error, "out of file descriptors: refusing new connections until some close (each client needs one; raise the limit with `ulimit -n`)");
                    }
                    if !self.refuse_one() {
                        tokio::time::sleep(PAUSE).await;
                        self.reserve = self.reserve.take().or_else(open_reserve);
                    }
                }
                Err(error) => {
                    // The connection failed before it was accepted, or the
                    // listener is in trouble: either way, not in a loop.
                    tracing::warn!(listener = self.what, %error, "cannot accept a connection");
                    tokio::time::sleep(PAUSE).await;
                }
            }
        }
    }

    /// Gives the reserve descriptor up to accept one waiting connection,
    /// sends it the refusal and closes it, then takes the reserve back.
    /// False without a reserve to give up.
    fn refuse_one(&mut self) -> bool {
        let Some(reserve) = self.reserve.take() else {
            return false;
        };
        drop(reserve);
        // The listener was reported readable, so a connection is most
        // likely waiting; if not, there is nobody to refuse.
        if let Some(accepted) = self.listener.accept().now_or_never() {
            match accepted.and_then(|(stream, _peer)| stream.into_std()) {
                Ok(stream) => {
                    refuse(stream, self.refusal);
                    self.refused = self.refused.map(|refused| refused + 1);
                }
                Err(error) => {
                    tracing::debug!(listener = self.what, %error, "cannot accept a connection to refuse");
                }
            }
        }
        self.reserve = open_reserve();
        true
    }
}

/// Sends `refusal` to a fresh connection and closes it. The socket is
/// non-blocking and its send buffer empty, so the write does not wait.
/// What the client already sent is read first: closing a socket with
/// unread data resets the connection, and the client might lose the
/// refusal.
fn refuse(mut stream: std::net::TcpStream, refusal: &[u8]) {
    let mut unread = [0; 1024];
    while matches!(stream.read(&mut unread), Ok(read) if read > 0) {}
    let _ = stream.write_all(refusal);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// A descriptor to give up when none is left, if one can be opened.
fn open_reserve() -> Option<File> {
    File::open(if cfg!(windows) { "NUL" } else { "/dev/null" }).ok()
}

/// Whether accepting failed for lack of file descriptors, in this process
/// or in the whole system.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_is_told_apart_from_other_accept_failures() {
        for errno in [libc::EMFILE, libc::ENFILE] {
            assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(errno)));
        }
        for errno in [libc::ECONNABORTED, libc::EINVAL] {
            assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(errno)));
        }
    }
}
