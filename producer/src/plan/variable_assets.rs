//! Remote images among a render's variable values, fetched into the plan.
//!
//! A hermetic plan's chunks never touch the network, so an image variable
//! whose value is an `http(s)` URL (bound with `data-var-src`) is fetched at
//! plan time, through the asset map like every other remote asset, and
//! stored in `compiled/_remote/`. The URL -> file table is frozen in
//! `meta/encoder.json` (hashed) and handed to the page, whose variables
//! runtime binds the local copy. The values themselves stay as given.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::errors::{ProducerError, Result};
use crate::plan::assets::{self, AssetMap};
use crate::plan::digest::sha256_hex;
use crate::variables::{Schema, VarType, Variables};

/// The URL -> plan file table and the files to write under `compiled/`.
pub(crate) type Localized = (BTreeMap<String, String>, Vec<(String, Vec<u8>)>);

/// Fetches every remote image URL among `values`; a URL that cannot be
/// fetched fails the plan, naming the variable.
pub(crate) fn localize(schema: &Schema, values: &Variables, map: &AssetMap) -> Result<Localized> {
    let mut table = BTreeMap::new();
    let mut files = Vec::new();
    for (id, value) in values.iter() {
        if schema.get(id).map(|d| d.kind) != Some(VarType::Image) {
            continue;
        }
        let url = match value {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("url").and_then(Value::as_str).unwrap_or(""),
            _ => "",
        };
        if !assets::is_remote(url) || table.contains_key(url) {
            continue;
        }
        let absolute = assets::join_url("https://invalid/", url);
        let bytes = map
            .fetch(&absolute)
            .map_err(|m| ProducerError::AssetFetchFailed(format!("variables.{id}: {m}")))?;
        let ext = absolute
            .split(['?', '#'])
            .next()
            .and_then(|p| p.rsplit('/').next())
            .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()))
            .filter(|e| {
                !e.is_empty() && e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .unwrap_or_else(|| "bin".into());
        let rel = format!("_remote/{}.{ext}", &sha256_hex(&bytes)[..16]);
        table.insert(url.to_string(), rel.clone());
        files.push((rel, bytes));
    }
    Ok((table, files))
}
