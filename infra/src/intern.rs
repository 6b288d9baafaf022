//! Logical IDs as `&'static str`, so that resource handles and parameter
//! references can be `Copy` (the stack owns resources; handles are typed
//! names). Each distinct name is leaked once; a template has at most a few
//! hundred of them, so the cost is bounded by the set of names ever used.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

pub(crate) fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = names.get(s) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}
