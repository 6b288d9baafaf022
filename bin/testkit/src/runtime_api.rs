//! The one Lambda Runtime API (2018-06-01) of the project, on hyper, on its
//! own loopback port: a `bootstrap` long-polls `invocation/next`, answers
//! with `invocation/{id}/response` or `.../error`, or reports
//! `init/error`. The local stack's instances use it as it is; tests that
//! run one `bootstrap` by hand use its [`blocking`] face.

pub mod blocking;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::http::{self, Req, Resp};

/// Lambda's limit on a synchronous response (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// An event handed to the runtime.
pub struct Delivery {
    pub request_id: String,
    pub event: Bytes,
    pub deadline_ms: u128,
    pub function_arn: String,
    pub reply: oneshot::Sender<Outcome>,
}

/// What the runtime answered.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Bytes),
    /// The error body as Lambda returns it (`errorType`, `errorMessage`).
    Error {
        error_type: String,
        body: Bytes,
    },
}

/// The runtime's start-up, as seen from the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    Starting,
    /// It asked for its first event.
    Ready,
    /// It posted `init/error`: (errorType, body).
    Failed(String, Bytes),
}

struct State {
    events: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    current: Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    init: watch::Sender<Init>,
    /// The `Lambda-Runtime-Function-Error-Type` header `init/error` carried.
    init_header: Mutex<Option<String>>,
}

pub struct RuntimeApi {
    /// `host:port`, what `AWS_LAMBDA_RUNTIME_API` holds.
    pub addr: String,
    pub deliver: mpsc::Sender<Delivery>,
    pub init: watch::Receiver<Init>,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let (deliver, events) = mpsc::channel(1);
        let (init_tx, init) = watch::channel(Init::Starting);
        let state = Arc::new(State {
            events: tokio::sync::Mutex::new(events),
            current: Mutex::new(None),
            init: init_tx,
            init_header: Mutex::new(None),
        });
        let s = state.clone();
        let (addr, server) = http::serve(0, move |req| handle(s.clone(), req)).await?;
        Ok(RuntimeApi {
            addr: addr.to_string(),
            deliver,
            init,
            state,
            server,
        })
    }

    /// The error-type header of the runtime's `init/error`, if it sent one.
    pub fn init_error_header(&self) -> Option<String> {
        self.state
            .init_header
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn runtime_error(status: StatusCode, ty: &str, msg: &str) -> Resp {
    http::json(status, &json!({"errorType": ty, "errorMessage": msg}))
}

async fn handle(state: Arc<State>, req: Req) -> Resp {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown path");
    };
    match (req.method().clone(), rest) {
        (Method::GET, "invocation/next") => next(&state).await,
        (Method::POST, "init/error") => {
            let ty = header(&req, "lambda-runtime-function-error-type");
            *state.init_header.lock().unwrap_or_else(|p| p.into_inner()) = ty.clone();
            let body = http::body(req, MAX_RESPONSE_BYTES)
                .await
                .unwrap_or_default();
            let ty = error_type_of(&body, ty);
            state.init.send_replace(Init::Failed(ty, body));
            accepted()
        }
        (Method::POST, r) if r.starts_with("invocation/") => {
            let r = &r["invocation/".len()..];
            let Some((id, what)) = r.split_once('/') else {
                return runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown path");
            };
            let id = id.to_string();
            let is_error = match what {
                "response" => false,
                "error" => true,
                _ => return runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
            };
            let ty = header(&req, "lambda-runtime-function-error-type");
            let body = http::body(req, MAX_RESPONSE_BYTES + 1).await;
            let outcome = match (body, is_error) {
                (Some(b), false) if b.len() <= MAX_RESPONSE_BYTES => Outcome::Response(b),
                (Some(b), true) => Outcome::Error {
                    error_type: error_type_of(&b, ty),
                    body: b,
                },
                _ => Outcome::Error {
                    error_type: "Function.ResponseSizeTooLarge".into(),
                    body: Bytes::from(
                        json!({"errorType": "Function.ResponseSizeTooLarge",
                               "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).")})
                        .to_string(),
                    ),
                },
            };
            let pending = {
                let mut cur = state.current.lock().unwrap_or_else(|p| p.into_inner());
                match cur.take() {
                    Some((cur_id, tx)) if cur_id == id => Some(tx),
                    other => {
                        *cur = other;
                        None
                    }
                }
            };
            match pending {
                Some(tx) => {
                    let too_large = matches!(&outcome, Outcome::Error { error_type, .. } if error_type == "Function.ResponseSizeTooLarge")
                        && !is_error;
                    let _ = tx.send(outcome);
                    if too_large {
                        runtime_error(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "RequestEntityTooLarge",
                            "response over 6 MB",
                        )
                    } else {
                        accepted()
                    }
                }
                None => runtime_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    &format!("no invocation {id} is in progress"),
                ),
            }
        }
        _ => runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
    }
}

async fn next(state: &State) -> Resp {
    state.init.send_if_modified(|i| {
        if *i == Init::Starting {
            *i = Init::Ready;
            true
        } else {
            false
        }
    });
    let d = {
        let mut events = state.events.lock().await;
        match events.recv().await {
            Some(d) => d,
            None => {
                return runtime_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceShutdown",
                    "the instance is stopping",
                )
            }
        }
    };
    *state.current.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((d.request_id.clone(), d.reply));
    let deadline = d.deadline_ms.to_string();
    http::response(
        StatusCode::OK,
        &[
            ("content-type", "application/json"),
            ("lambda-runtime-aws-request-id", &d.request_id),
            ("lambda-runtime-deadline-ms", &deadline),
            ("lambda-runtime-invoked-function-arn", &d.function_arn),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
            ),
        ],
        d.event,
    )
}

fn header(req: &Req, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The body's `errorType` (what Step Functions matches), else the
/// runtime's header (the Rust runtime sends `unhandled` there).
fn error_type_of(body: &[u8], header: Option<String>) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errorType"].as_str().map(str::to_string))
        .or(header)
        .unwrap_or_else(|| "Unhandled".into())
}

fn accepted() -> Resp {
    http::json(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}
