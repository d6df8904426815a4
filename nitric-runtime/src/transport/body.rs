//! Bodies of the channel's calls: the response body tonic reads (from an
//! HTTP/2 stream, or from the embedded membrane's service), and the task
//! feeding a streaming request body to h2.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::Status;

/// A response's body as tonic reads it: the stream's data, then its
/// trailers (where gRPC puts the call's status).
pub(crate) struct ResponseBody {
    origin: Origin,
}

enum Origin {
    /// An HTTP/2 stream, and whether its data has ended.
    H2 {
        stream: h2::RecvStream,
        data_done: bool,
    },
    /// The body the embedded membrane's service answered with.
    InProcess(tonic::body::Body),
}

impl ResponseBody {
    pub(super) fn new(stream: h2::RecvStream) -> Self {
        Self {
            origin: Origin::H2 {
                stream,
                data_done: false,
            },
        }
    }

    pub(super) fn in_process(body: tonic::body::Body) -> Self {
        Self {
            origin: Origin::InProcess(body),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let (stream, data_done) = match &mut self.origin {
            Origin::H2 { stream, data_done } => (stream, data_done),
            Origin::InProcess(body) => return Pin::new(body).poll_frame(cx),
        };
        if !*data_done {
            match stream.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    // Read, so the membrane may send as much again.
                    let _ = stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Some(Err(status_from_h2(error))))
                }
                Poll::Ready(None) => *data_done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        match stream.poll_trailers(cx) {
            Poll::Ready(Ok(Some(trailers))) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(status_from_h2(error)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.origin {
            Origin::H2 { stream, .. } => stream.is_end_stream(),
            Origin::InProcess(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.origin {
            Origin::H2 { .. } => SizeHint::default(),
            Origin::InProcess(body) => body.size_hint(),
        }
    }
}

/// Feeds the rest of a streaming request body to its HTTP/2 stream as it
/// comes, then ends the stream; stops early when the membrane resets it.
///
/// Flow control is left to h2, which holds what the window does not yet
/// allow: what an event stream sends are answers to events the membrane
/// sent, so what is held stays bounded by the events in flight.
pub(super) async fn pump(mut request_body: tonic::body::Body, mut stream: h2::SendStream<Bytes>) {
    loop {
        let next = tokio::select! {
            frame = poll_fn(|cx| Pin::new(&mut request_body).poll_frame(cx)) => frame,
            _ = poll_fn(|cx| stream.poll_reset(cx)) => return,
        };
        let sent = match next {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => stream.send_data(data, false),
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => {
                        let _ = stream.send_trailers(trailers);
                        return;
                    }
                    Err(_) => Ok(()),
                },
            },
            Some(Err(status)) => {
                tracing::debug!(%status, "a request stream failed; resetting it");
                stream.send_reset(h2::Reason::CANCEL);
                return;
            }
            None => {
                let _ = stream.send_data(Bytes::new(), true);
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// The gRPC status for an HTTP/2 failure: a connection that broke or went
/// away is `UNAVAILABLE` (retried), a stream reset maps as gRPC specifies.
pub(super) fn status_from_h2(error: h2::Error) -> Status {
    let code = if error.is_io() || error.is_go_away() {
        tonic::Code::Unavailable
    } else {
        match error.reason() {
            Some(h2::Reason::REFUSED_STREAM) => tonic::Code::Unavailable,
            Some(h2::Reason::CANCEL) => tonic::Code::Cancelled,
            Some(h2::Reason::ENHANCE_YOUR_CALM) => tonic::Code::ResourceExhausted,
            Some(h2::Reason::INADEQUATE_SECURITY) => tonic::Code::PermissionDenied,
            Some(_) => tonic::Code::Internal,
            None => tonic::Code::Unknown,
        }
    };
    Status::new(
        code,
        format!("the connection to the membrane failed: {error}"),
    )
}
