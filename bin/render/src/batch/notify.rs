//! The batch's own completion notice: each render already notifies as
//! the stack was deployed to (its EventBridge rules see every execution
//! end); the batch's end is the CLI's to tell, as a POST of its summary
//! to `--notify-webhook`, with `--notify-api-key` as the `x-api-key`
//! header (the header the stack's webhook connections send).

use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use super::board::Summary;

/// Refuses what is not an http(s) URL, before anything starts.
pub fn check_url(url: &str) -> Result<()> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("--notify-webhook `{url}` is not an http(s) URL");
    }
    Ok(())
}

/// POSTs the summary; an error says why (the batch's result stands).
pub fn post(url: &str, api_key: Option<&str>, summary: &Summary) -> Result<()> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut req = agent.post(url).header("content-type", "application/json");
    if let Some(k) = api_key {
        req = req.header("x-api-key", k);
    }
    let body = serde_json::to_string(summary)?;
    req.send(body.as_str())
        .map_err(|e| anyhow!("the batch notification to {url} failed: {e}"))?;
    Ok(())
}
