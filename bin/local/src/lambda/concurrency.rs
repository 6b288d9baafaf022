//! Concurrency as Lambda enforces it: the account's pool (the service's
//! `concurrency`, one instance per core by default) and a function's
//! reserved concurrency. A synchronous invocation that finds no room is
//! throttled with a 429 `TooManyRequestsException`, as on Lambda, which the
//! Step Functions Lambda integration raises as
//! `Lambda.TooManyRequestsException` for the Task's Retry to match. An
//! asynchronous one waits, as Lambda's own event queue retries it.
//!
//! The read side of the Lambda API that `render` uses to size a fan-out is
//! here too: `GetAccountSettings` and `GetFunctionConcurrency`, and
//! `PutFunctionConcurrency` / `DeleteFunctionConcurrency` to change a
//! function's reserved concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

use super::{aws_error, Shared};
use crate::http::{self, Req, Resp};

/// Why an invocation found no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Every instance of the account's pool is busy.
    Account,
    /// The function runs as many as its reserved concurrency allows.
    Reserved,
}

impl Throttle {
    /// The `Reason` Lambda puts in the 429 body.
    pub fn reason(self) -> &'static str {
        match self {
            Throttle::Account => "ConcurrentInvocationLimitExceeded",
            Throttle::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
        }
    }
}

/// Room for one invocation; given back when dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    shared: Arc<Shared>,
    function: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.shared.lock_busy();
        if let Some(n) = busy.get_mut(&self.function) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Room for one invocation of `function` now, or why there is none.
pub(crate) fn try_enter(shared: &Arc<Shared>, function: &str) -> Result<Slot, Throttle> {
    let reserved = shared.lock_reserved().get(function).copied();
    let mut busy = shared.lock_busy();
    let running = busy.get(function).copied().unwrap_or(0);
    if reserved.is_some_and(|r| running >= r as usize) {
        return Err(Throttle::Reserved);
    }
    let permit = shared
        .permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| Throttle::Account)?;
    *busy.entry(function.to_string()).or_default() += 1;
    Ok(Slot {
        _permit: permit,
        shared: shared.clone(),
        function: function.to_string(),
    })
}

/// Room for an asynchronous invocation: it waits until there is some.
pub(crate) async fn enter_when_free(shared: &Arc<Shared>, function: &str) -> Slot {
    loop {
        if let Ok(slot) = try_enter(shared, function) {
            return slot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The 429 Lambda answers a throttled Invoke with.
pub fn throttled(t: Throttle) -> Resp {
    http::response(
        StatusCode::TOO_MANY_REQUESTS,
        &[
            ("content-type", "application/json"),
            ("x-amzn-errortype", "TooManyRequestsException"),
            ("retry-after", "1"),
        ],
        json!({"Type": "User", "message": "Rate Exceeded.", "Reason": t.reason()}).to_string(),
    )
}

/// The concurrency APIs' answer, or `req` back when it is for another API.
pub(crate) async fn api(shared: &Arc<Shared>, req: Req) -> Result<Resp, Req> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    if path.ends_with("/account-settings") && req.method() == Method::GET {
        return Ok(json_ok(account_settings(shared)));
    }
    let Some(name) = path
        .strip_prefix("/2019-09-30/functions/")
        .or_else(|| path.strip_prefix("/2017-10-31/functions/"))
        .and_then(|r| r.strip_suffix("/concurrency"))
    else {
        return Err(req);
    };
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned();
    let Some(f) = shared.lookup(&name) else {
        return Ok(aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        ));
    };
    let name = f.spec.name.clone();
    Ok(match req.method().clone() {
        Method::GET => {
            let r = shared.lock_reserved().get(&name).copied();
            json_ok(match r {
                Some(n) => json!({"ReservedConcurrentExecutions": n}),
                None => json!({}),
            })
        }
        Method::DELETE => {
            shared.lock_reserved().remove(&name);
            http::response(StatusCode::NO_CONTENT, &[], Bytes::new())
        }
        Method::PUT => put_concurrency(shared, &name, req).await,
        _ => aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "this local service implements GET, PUT and DELETE of a function's concurrency",
        ),
    })
}

async fn put_concurrency(shared: &Arc<Shared>, name: &str, req: Req) -> Resp {
    let body = http::body(req, 4096).await.unwrap_or_default();
    let n = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["ReservedConcurrentExecutions"].as_u64());
    match n.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n as usize <= shared.config.concurrency => {
            shared.set_reserved_concurrency(name, Some(n));
            json_ok(json!({"ReservedConcurrentExecutions": n}))
        }
        _ => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!(
                "ReservedConcurrentExecutions must be an integer from 0 to the account's concurrency, {}",
                shared.config.concurrency
            ),
        ),
    }
}

/// `GetAccountSettings`: the pool is the service's concurrency; what no
/// function reserves is unreserved. The code-size figures are Lambda's
/// defaults (the local service checks none of them).
fn account_settings(shared: &Shared) -> Value {
    let total = shared.config.concurrency;
    let reserved: u32 = shared.lock_reserved().values().sum();
    json!({
        "AccountLimit": {
            "CodeSizeUnzipped": 262_144_000u64,
            "CodeSizeZipped": 52_428_800u64,
            "ConcurrentExecutions": total,
            "TotalCodeSize": 80_530_636_800u64,
            "UnreservedConcurrentExecutions": total.saturating_sub(reserved as usize),
        },
        "AccountUsage": {
            "FunctionCount": shared.functions().len(),
            "TotalCodeSize": 0,
        },
    })
}

fn json_ok(v: Value) -> Resp {
    http::response(
        StatusCode::OK,
        &[("content-type", "application/json")],
        v.to_string(),
    )
}

/// Reserved concurrency by function name.
pub(crate) type Reserved = HashMap<String, u32>;
