//! Faults an emulator can be told to produce, one request at a time.
//!
//! Each emulator keeps a queue of [`Fault`]s per route. A request to the
//! route takes the first fault of its queue, if any, before anything else
//! happens (before authentication, as an overloaded front end answers
//! before it looks at credentials); an empty queue means normal service.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use crate::server::Connection;

/// One misbehaviour, for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status, headers and body instead of serving.
    Status {
        /// The HTTP status code.
        status: u16,
        /// Headers to send, such as `retry-after: 1`.
        headers: Vec<(String, String)>,
        /// The body; sent as JSON when it parses as JSON, else as text.
        body: String,
    },
    /// Answer 200 with a JSON content type and a body that is not JSON.
    MalformedJson,
    /// Wait this long, then serve the request normally.
    Delay(Duration),
    /// Read the request and close the connection without answering.
    DropConnection,
}

impl Fault {
    /// An answer with `status` and an empty body.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// An answer with `status` and a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Fault {
        Fault::Status {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// The same fault with a header added (only for [`Fault::Status`]).
    pub fn with_header(mut self, name: &str, value: &str) -> Fault {
        if let Fault::Status { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// The same fault with its body replaced (only for [`Fault::Status`]).
    pub fn with_body(mut self, text: &str) -> Fault {
        if let Fault::Status { body, .. } = &mut self {
            *body = text.to_owned();
        }
        self
    }

    /// A short name for logs and request records.
    pub fn describe(&self) -> String {
        match self {
            Fault::Status { status, .. } => format!("status {status}"),
            Fault::MalformedJson => "malformed JSON".to_owned(),
            Fault::Delay(delay) => format!("delay {}ms", delay.as_millis()),
            Fault::DropConnection => "dropped connection".to_owned(),
        }
    }
}

/// What applying a fault means for the request.
pub(crate) enum Applied {
    /// Answer with this instead of serving.
    Answer(Response),
    /// Serve the request normally (after a delay, maybe).
    Serve,
}

/// Carries out `fault` for a request that arrived on `connection`.
pub(crate) async fn apply(fault: Fault, connection: &Connection) -> Applied {
    match fault {
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Applied::Serve
        }
        Fault::DropConnection => {
            connection.kill();
            Applied::Answer(plain(StatusCode::OK, "", "text/plain"))
        }
        Fault::MalformedJson => Applied::Answer(plain(
            StatusCode::OK,
            r#"{"id": "truncated", "content": [{"type": "text", "text": "unterminated"#,
            "application/json",
        )),
        Fault::Status {
            status,
            headers,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut response = plain(status, &body, content_type);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            Applied::Answer(response)
        }
    }
}

/// A response with a body and its content type.
pub(crate) fn plain(status: StatusCode, body: &str, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// The start of every emulator handler: records the request to `route`,
/// and carries out the fault queued for it. `Some` is the answer to send
/// instead of serving.
pub(crate) async fn admit(
    recorder: &crate::recorder::Recorder,
    route: &str,
    connection: &Connection,
    request: &crate::Incoming,
) -> Option<Response> {
    let fault = recorder.arrive(
        route,
        &request.method,
        &request.uri,
        &request.headers,
        &request.body,
    )?;
    match apply(fault, connection).await {
        Applied::Answer(response) => Some(response),
        Applied::Serve => None,
    }
}
