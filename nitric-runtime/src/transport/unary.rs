//! A unary gRPC call written straight onto h2 (or handed straight to the
//! embedded membrane): for the call made once per event (`SendMessage`),
//! without tonic's generic client path (its request and response wrappers,
//! encoder and decoder streams), which cost as much CPU as the HTTP/2 work
//! itself. The bytes on the wire are the same.

use super::body::{status_from_h2, ResponseBody};
use super::{Channel, Dial};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderValue, Method};
use http_body::Body;
use std::future::poll_fn;
use std::pin::Pin;
use tonic::Status;

/// gRPC's prefix of each message: a compression flag and a 4-byte length.
const PREFIX: usize = 5;

impl Channel {
    /// Calls the unary method at `path` (`/package.Service/Method`) with
    /// `request`, and decodes its answer.
    pub(crate) async fn unary<Answer: prost::Message + Default>(
        &self,
        path: &'static str,
        request: &impl prost::Message,
    ) -> Result<Answer, Status> {
        let head = http::Request::builder()
            .method(Method::POST)
            .version(http::Version::HTTP_2)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/grpc"))
            .header(TE, HeaderValue::from_static("trailers"));
        if let Dial::InProcess(membrane) = &self.shared.dial {
            let request = head
                .uri(path)
                .body(tonic::body::Body::new(http_body_util::Full::new(framed(
                    request,
                ))))
                .map_err(cannot_make)?;
            return answer_of(membrane.call(request).await.map(ResponseBody::in_process)).await;
        }
        let sender = self.sender().await?;
        let mut sender = sender.ready().await.map_err(status_from_h2)?;
        let head = head
            .uri(self.uri_for(&http::Uri::from_static(path))?)
            .body(())
            .map_err(cannot_make)?;
        let (response, mut stream) = sender.send_request(head, false).map_err(status_from_h2)?;
        stream
            .send_data(framed(request), true)
            .map_err(status_from_h2)?;
        let response = response.await.map_err(status_from_h2)?;
        answer_of(response.map(ResponseBody::new)).await
    }
}

fn cannot_make(error: http::Error) -> Status {
    Status::internal(format!("cannot make the request: {error}"))
}

/// The one message of a unary call's `response`, or the call's failure.
async fn answer_of<Answer: prost::Message + Default>(
    response: http::Response<ResponseBody>,
) -> Result<Answer, Status> {
    // A failure may come as headers alone ("trailers-only").
    if let Some(Err(status)) = outcome(response.headers()) {
        return Err(status);
    }
    if response.status() != http::StatusCode::OK {
        return Err(Status::unknown(format!(
            "the membrane answered HTTP status {}",
            response.status()
        )));
    }
    let mut body = response.into_body();
    let mut answer = BytesMut::new();
    let mut trailers = None;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        match frame?.into_data() {
            Ok(data) => answer.extend_from_slice(&data),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    match trailers.as_ref().and_then(outcome) {
        Some(Ok(())) => unframed(answer.freeze()),
        Some(Err(status)) => Err(status),
        None => Err(Status::internal("the membrane's answer has no grpc-status")),
    }
}

/// The call's outcome as `headers` give it, or `None` if they carry no
/// `grpc-status`. Success, on every event's send, is read without building
/// a `Status` (which parses every gRPC header and allocates).
fn outcome(headers: &http::HeaderMap) -> Option<Result<(), Status>> {
    if headers.get("grpc-status")? == "0" {
        return Some(Ok(()));
    }
    // Some whenever `grpc-status` is present.
    Status::from_header_map(headers).map(Err)
}

/// `message` with gRPC's prefix (uncompressed).
fn framed(message: &impl prost::Message) -> Bytes {
    let length = message.encoded_len();
    let mut framed = BytesMut::with_capacity(PREFIX + length);
    framed.put_u8(0);
    framed.put_u32(length as u32);
    message
        .encode(&mut framed)
        .expect("the buffer was sized for the message");
    framed.freeze()
}

/// The one message of a unary answer.
fn unframed<Answer: prost::Message + Default>(mut answer: Bytes) -> Result<Answer, Status> {
    if answer.len() < PREFIX {
        return Err(Status::internal("the membrane's answer has no message"));
    }
    let compressed = answer.get_u8();
    let length = answer.get_u32() as usize;
    if compressed != 0 {
        return Err(Status::internal(
            "the membrane's answer is compressed, which was not asked for",
        ));
    }
    if answer.len() < length {
        return Err(Status::internal("the membrane's answer is cut short"));
    }
    Answer::decode(answer.slice(..length))
        .map_err(|error| Status::internal(format!("cannot read the membrane's answer: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn a_message_survives_framing() {
        let message = prost_types::Duration {
            seconds: 7,
            nanos: 11,
        };
        let framed = framed(&message);
        assert_eq!(&framed[..PREFIX], &[0, 0, 0, 0, 4]);
        assert_eq!(unframed::<prost_types::Duration>(framed).unwrap(), message);
    }

    #[test]
    fn outcomes_read_from_grpc_status() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = http::HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            headers
        };
        assert!(outcome(&headers(&[])).is_none());
        assert!(matches!(
            outcome(&headers(&[("grpc-status", "0")])),
            Some(Ok(()))
        ));
        let gone = outcome(&headers(&[
            ("grpc-status", "5"),
            ("grpc-message", "connection%20gone"),
        ]));
        let Some(Err(status)) = gone else {
            panic!("{gone:?}")
        };
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "connection gone");
    }

    #[test]
    fn a_short_or_compressed_answer_is_refused() {
        assert!(unframed::<prost_types::Duration>(Bytes::from_static(&[0, 0, 0])).is_err());
        assert!(unframed::<prost_types::Duration>(Bytes::from_static(&[1, 0, 0, 0, 0])).is_err());
        assert!(
            unframed::<prost_types::Duration>(Bytes::from_static(&[0, 0, 0, 0, 9, 1])).is_err()
        );
    }
}
