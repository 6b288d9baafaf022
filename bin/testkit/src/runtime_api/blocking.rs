//! The Runtime API for a test that drives one `bootstrap` by hand: the
//! same hyper server, on a runtime of its own, with calls that block.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::oneshot;

use super::{Delivery, Init};

/// What the runtime answered for one event.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Value),
    /// `errorType`, `errorMessage`.
    Error(String, String),
    /// The runtime reported `init/error` instead of polling: its body.
    InitError(String),
}

pub struct RuntimeApi {
    /// `host:port`, what `AWS_LAMBDA_RUNTIME_API` holds.
    pub addr: String,
    api: super::RuntimeApi,
    first_poll: Arc<Mutex<Option<Instant>>>,
    counter: Mutex<u64>,
    // Dropped last: the server's tasks run on it.
    rt: tokio::runtime::Runtime,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the Runtime API");
        let api = rt
            .block_on(super::RuntimeApi::start())
            .expect("bind the Runtime API on 127.0.0.1");
        let first_poll = Arc::new(Mutex::new(None));
        let (mut init, seen) = (api.init.clone(), first_poll.clone());
        rt.spawn(async move {
            loop {
                if *init.borrow_and_update() != Init::Starting {
                    *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                    return;
                }
                if init.changed().await.is_err() {
                    return;
                }
            }
        });
        RuntimeApi {
            addr: api.addr.clone(),
            api,
            first_poll,
            counter: Mutex::new(0),
            rt,
        }
    }

    /// When the runtime first asked for an event or reported its init error.
    pub fn first_poll(&self) -> Option<Instant> {
        match *self.api.init.borrow() {
            Init::Ready => *self.first_poll.lock().unwrap_or_else(|p| p.into_inner()),
            _ => None,
        }
    }

    /// The error type the runtime's `init/error` carried in its header.
    pub fn init_error_type(&self) -> Option<String> {
        self.api.init_error_header()
    }

    /// Queues `event` and waits for the runtime's answer.
    pub fn invoke(&self, event: Value, timeout: Duration) -> Outcome {
        let id = {
            let mut n = self.counter.lock().unwrap_or_else(|p| p.into_inner());
            *n += 1;
            format!("req-{:04}", *n)
        };
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let (reply, answer) = oneshot::channel();
        let delivery = Delivery {
            request_id: id.clone(),
            event: event.to_string().into(),
            deadline_ms,
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:test".into(),
            reply,
        };
        let mut init = self.api.init.clone();
        let deliver = self.api.deliver.clone();
        self.rt.block_on(async move {
            let wait = async {
                if deliver.send(delivery).await.is_err() {
                    panic!("the Runtime API stopped");
                }
                answer.await
            };
            let failed = async {
                loop {
                    if let Init::Failed(_, body) = &*init.borrow_and_update() {
                        return String::from_utf8_lossy(body).into_owned();
                    }
                    if init.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                answered = wait => match answered {
                    Ok(super::Outcome::Response(b)) => Outcome::Response(
                        serde_json::from_slice(&b).unwrap_or(Value::Null),
                    ),
                    Ok(super::Outcome::Error { error_type, body }) => {
                        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let message = v["errorMessage"].as_str().unwrap_or_default().to_string();
                        Outcome::Error(error_type, message)
                    }
                    Err(_) => panic!("the Runtime API dropped {id}"),
                },
                body = failed => Outcome::InitError(body),
                _ = tokio::time::sleep(timeout) => {
                    panic!("the runtime did not answer {id} within {timeout:?}")
                }
            }
        })
    }
}
