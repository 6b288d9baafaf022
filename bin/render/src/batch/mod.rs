//! `render-batch ROWS.jsonl`: many renders of one template, one per row,
//! on a stack or on this machine.
//!
//! - Every row is read into a typed row and checked (settings, variables,
//!   on a stack the execution input's size) before anything starts; every
//!   problem is reported at once by physical line ([`rows`]).
//! - The site is uploaded once; each row's execution name comes from the
//!   site and the row, so a re-run finds its executions ([`stack`]).
//! - At most `--max-concurrent` renders are in flight: a slot is held
//!   from the start until the execution has ended.
//! - The manifest ([`manifest`]) is rewritten as rows change; a re-run
//!   skips rows whose output is still what the manifest recorded, follows
//!   rows still running, and starts only failed or missing ones.

pub mod board;
pub mod local;
pub mod manifest;
pub mod notify;
pub mod rows;
pub mod stack;
pub mod target;

use std::collections::BTreeMap;
use std::path::Path;

use hyperframes_infra::contract::PlanProtocol;

use crate::estimate::{self, model::Estimate, EstimateArgs};
use crate::pricing::Prices;
use rows::BatchRow;

/// The estimate of every row (rows that differ only in their values share
/// their settings' estimate, planned once with the first such row's
/// values), the batch's expected total, and the most chunks a row has.
pub struct Estimates {
    pub per_row: Vec<Option<Estimate>>,
    pub total_usd: Option<f64>,
    pub chunks: Option<u32>,
    /// Settings that could not be planned here, and why.
    pub problems: Vec<String>,
}

/// Plans each distinct setting once (trying up to three of its rows: a
/// row whose values fail the plan says nothing of the others).
pub fn estimates(
    project: &Path,
    rows: &[BatchRow],
    prices: Prices,
    protocol: PlanProtocol,
    args: &EstimateArgs,
) -> Estimates {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let mut c = r.config.clone();
        c.variables = None;
        let key = serde_json::to_string(&c).expect("a config serializes");
        groups.entry(key).or_default().push(i);
    }
    let mut out = Estimates {
        per_row: vec![None; rows.len()],
        total_usd: Some(0.0),
        chunks: None,
        problems: Vec::new(),
    };
    for members in groups.values() {
        let mut last_err = None;
        let found = members.iter().take(3).find_map(|&i| {
            estimate::for_project(project, &rows[i].config, prices, protocol, args)
                .map_err(|e| last_err = Some(format!("line {}: {e:#}", rows[i].line)))
                .ok()
        });
        let Some(e) = found else {
            out.total_usd = None;
            out.problems.extend(last_err);
            continue;
        };
        out.total_usd = out
            .total_usd
            .map(|t| t + e.total_usd.expected * members.len() as f64);
        out.chunks = Some(out.chunks.unwrap_or(0).max(e.chunks));
        for &i in members {
            out.per_row[i] = Some(e.clone());
        }
    }
    out
}

/// `--max-concurrent`'s default on a stack: the renders the concurrency
/// holds when each runs all its chunks at once, at least 1.
pub fn default_max_concurrent(concurrency: Option<u32>, chunks: Option<u32>) -> (usize, String) {
    match concurrency {
        Some(c) => {
            let per = chunks.unwrap_or(1).max(1);
            let n = (c / per).max(1) as usize;
            (
                n,
                format!("at most {n} render(s) in flight: concurrency {c} / {per} chunk(s) per render (--max-concurrent N to change)"),
            )
        }
        None => (
            4,
            "at most 4 renders in flight (the Lambda concurrency is unknown; --max-concurrent N to change)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_shares_the_concurrency_between_whole_renders() {
        assert_eq!(default_max_concurrent(Some(900), Some(16)).0, 56);
        assert_eq!(default_max_concurrent(Some(2), Some(3)).0, 1);
        assert_eq!(default_max_concurrent(Some(9), None).0, 9);
        assert_eq!(default_max_concurrent(None, Some(2)).0, 4);
    }
}
