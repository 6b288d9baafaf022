//! What a render will cost, before it starts: `render --estimate` plans
//! locally, runs the calibrated time model ([`calibration`]) over the plan
//! ([`facts`]) and prices the result ([`model`]). `render` attaches the
//! estimate to the execution input, so `progress` can show it beside the
//! accrued cost.

pub mod calibration;
pub mod facts;
pub mod measure;
pub mod model;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use hyperframes_infra::contract::PlanProtocol;
use hyperframes_producer::{AssetMap, RenderConfig};

use crate::pricing::Prices;
use calibration::Calibration;
use model::{Estimate, Inputs, Target};

/// The execution-input field that carries the estimate (the state machine
/// ignores it; `progress` reads it back).
pub const INPUT_FIELD: &str = "CostEstimate";

/// Flags of `render --estimate`.
#[derive(Debug, Clone, Args)]
pub struct EstimateArgs {
    /// Print what the render would cost and take, then exit: plans locally,
    /// uploads nothing, needs no AWS credentials.
    #[arg(long)]
    pub estimate: bool,
    /// Lambda concurrency available to the render: sets the estimate's wall
    /// time; on a stack, also the most chunks run at once (default: read
    /// from the account's and the function's Lambda concurrency, less a
    /// tenth of the account's pool for headroom).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Calibration file from `hyperframes bench render --calibrate` (default:
    /// $HF_CALIBRATION, else the shipped one).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
}

/// The part of an estimate `progress` shows next to the accrued cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub total_usd: model::Range,
    pub lambda_gb_seconds: model::Range,
    pub state_transitions: u64,
}

impl From<&Estimate> for Summary {
    fn from(e: &Estimate) -> Self {
        Summary {
            total_usd: e.total_usd,
            lambda_gb_seconds: e.lambda_gb_seconds,
            state_transitions: e.state_transitions,
        }
    }
}

/// Plans `project` locally with `config` and estimates the render on Lambda.
pub fn for_project(
    project: &Path,
    config: &RenderConfig,
    prices: Prices,
    protocol: PlanProtocol,
    args: &EstimateArgs,
) -> Result<Estimate> {
    let (cal, source) = Calibration::resolve(args.calibration.as_deref())?;
    let work = tempfile::Builder::new()
        .prefix("hf-estimate-")
        .tempdir()
        .context("cannot create a scratch directory for the local plan")?;
    let map = AssetMap::discover().ok();
    let facts = facts::plan_locally(project, config, map, work.path())?;
    let target = Target::lambda(prices.memory_mb, &cal);
    model::estimate_with_sizes(
        &facts,
        &Inputs {
            calibration: &cal,
            calibration_source: &source,
            target,
            prices,
            concurrency: args.concurrency,
            protocol,
        },
    )
}

/// Adds the estimate's summary to an execution input.
pub fn attach(input: String, e: &Estimate, max_bytes: usize) -> Result<String> {
    let mut v: Value = serde_json::from_str(&input).context("execution input is JSON")?;
    v[INPUT_FIELD] = serde_json::to_value(Summary::from(e))?;
    let text = v.to_string();
    if text.len() > max_bytes {
        bail!(
            "the execution input with its estimate is {} bytes, over {max_bytes}",
            text.len()
        );
    }
    Ok(text)
}

/// The estimate an execution input carries, if any.
pub fn from_input(input: &Value) -> Option<Summary> {
    serde_json::from_value(input.get(INPUT_FIELD)?.clone()).ok()
}
