//! How many chunks a render on a stack runs at once: the execution input's
//! `Concurrency`, which the state machine uses as its Maps' MaxConcurrency.
//!
//! Lambda counts concurrency per account and Region. A function without
//! reserved concurrency draws from the account's unreserved pool, which
//! every other function of the account shares; one with reserved
//! concurrency has exactly that many, shared by nobody but itself. So
//! `render` reads both (`GetAccountSettings`, `GetFunctionConcurrency`) and
//! asks for:
//!
//! - the function's reserved concurrency when it has one (it is the
//!   function's own, so no headroom is taken from it), else
//! - the unreserved pool less a tenth of it, rounded down
//!   ([`with_headroom`]): the account's other functions keep room to run,
//!   and so does a chunk retried while a throttled neighbour still holds
//!   its instance. A new account's 10 gives 9 (Remotion's advice for the
//!   same limit: 9 renderers and 1 orchestrator), the default 1,000 gives
//!   900; below 10 nothing is held back, since a tenth rounds to none.
//!
//! The figure is a ceiling, not a reservation: renders started together
//! each get the whole budget, and the throttles their sum causes are what
//! the workflow's throttle Retrier waits out. `render` warns when others
//! are running ([`others_running`]). `--concurrency N` replaces the figure.

use anyhow::{anyhow, Result};
use aws_sdk_lambda::error::DisplayErrorContext;

use hyperframes_cli::aws::Aws;

/// What the account and the function allow, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `AccountLimit.ConcurrentExecutions`.
    pub account: u32,
    /// `AccountLimit.UnreservedConcurrentExecutions`.
    pub unreserved: u32,
    /// The function's `ReservedConcurrentExecutions`, when set.
    pub reserved: Option<u32>,
}

/// `pool` less a tenth of it (rounded down), and at least 1.
pub fn with_headroom(pool: u32) -> u32 {
    (pool - pool / 10).max(1)
}

/// The concurrency a render asks for under `limits`.
pub fn choose(limits: Limits) -> u32 {
    match limits.reserved {
        Some(r) => r.max(1),
        None => with_headroom(limits.unreserved),
    }
}

/// The decision and how it was reached, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `None`: the execution input leaves `Concurrency` out (every chunk at
    /// once), because nothing could be read and nothing was given.
    pub concurrency: Option<u32>,
    pub note: String,
}

/// `--concurrency` when given; else what the limits allow; else (the
/// limits could not be read, e.g. an emulator without these APIs) no
/// limit, with a note that says why. Never an error: a render does not
/// fail for want of a figure it can do without.
pub async fn decide(aws: &Aws, function: Option<&str>, given: Option<u32>) -> Decision {
    if let Some(n) = given {
        return Decision {
            concurrency: Some(n),
            note: format!("concurrency {n} (--concurrency)"),
        };
    }
    let Some(function) = function else {
        return Decision {
            concurrency: None,
            note: "concurrency: every chunk at once (the stack's outputs name no function whose concurrency could be read; pass --concurrency N to limit it)".into(),
        };
    };
    match read(aws, function).await {
        Ok(l) => Decision {
            concurrency: Some(choose(l)),
            note: match l.reserved {
                Some(r) => format!("concurrency {} (the function's reserved concurrency {r})", choose(l)),
                None => format!(
                    "concurrency {} (the account's unreserved Lambda concurrency {} of {}, less a tenth for its other functions and retries)",
                    choose(l), l.unreserved, l.account
                ),
            },
        },
        Err(e) => Decision {
            concurrency: None,
            note: format!("concurrency: every chunk at once; the Lambda concurrency could not be read ({e:#}); throttled chunks are retried, pass --concurrency N to limit the fan-out"),
        },
    }
}

fn client(aws: &Aws) -> aws_sdk_lambda::Client {
    let mut b = aws_sdk_lambda::config::Builder::from(&aws.sdk_config);
    if let Some(e) = &aws.lambda_endpoint {
        b = b.endpoint_url(e);
    }
    aws_sdk_lambda::Client::from_conf(b.build())
}

/// Reads the account's and `function`'s concurrency.
pub async fn read(aws: &Aws, function: &str) -> Result<Limits> {
    let lambda = client(aws);
    let settings = lambda
        .get_account_settings()
        .send()
        .await
        .map_err(|e| anyhow!("lambda:GetAccountSettings: {}", DisplayErrorContext(e)))?;
    let limit = settings
        .account_limit()
        .ok_or_else(|| anyhow!("lambda:GetAccountSettings returned no AccountLimit"))?;
    let reserved = lambda
        .get_function_concurrency()
        .function_name(function)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "lambda:GetFunctionConcurrency on {function}: {}",
                DisplayErrorContext(e)
            )
        })?
        .reserved_concurrent_executions();
    let n = |v: i32| u32::try_from(v).unwrap_or(0);
    Ok(Limits {
        account: n(limit.concurrent_executions()),
        unreserved: limit
            .unreserved_concurrent_executions()
            .map_or(n(limit.concurrent_executions()), n),
        reserved: reserved.map(n),
    })
}

/// How many other renders of `state_machine_arn` are running now
/// (`ListExecutions` RUNNING, first page). They draw on the same Lambda
/// concurrency: each gets this render's ceiling, not a share of it.
pub async fn others_running(sfn: &aws_sdk_sfn::Client, state_machine_arn: &str) -> Result<usize> {
    let out = sfn
        .list_executions()
        .state_machine_arn(state_machine_arn)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .max_results(100)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "states:ListExecutions: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(out.executions().len())
}

/// The warning for `others` renders running beside this one.
pub fn shared_budget_warning(others: usize, concurrency: Option<u32>) -> String {
    let each = match concurrency {
        Some(n) => format!("each may run up to {n} chunks at once"),
        None => "each runs every chunk at once".into(),
    };
    format!(
        "{others} other render(s) of this stack are running and share the account's Lambda concurrency: {each}, so together they can exceed it; the excess is throttled and retried with backoff (the render takes longer, it does not fail). To split the budget, pass --concurrency N to each render."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_a_tenth_of_the_pool_and_never_all_of_it() {
        assert_eq!(with_headroom(1000), 900);
        assert_eq!(with_headroom(10), 9);
        assert_eq!(with_headroom(9), 9);
        assert_eq!(with_headroom(2), 2);
        assert_eq!(with_headroom(1), 1);
        assert_eq!(with_headroom(0), 1);
    }

    #[test]
    fn reserved_concurrency_is_the_functions_own() {
        let l = Limits {
            account: 1000,
            unreserved: 950,
            reserved: Some(50),
        };
        assert_eq!(choose(l), 50);
        assert_eq!(
            choose(Limits {
                reserved: None,
                ..l
            }),
            855
        );
        assert_eq!(
            choose(Limits {
                reserved: Some(0),
                ..l
            }),
            1
        );
    }
}
