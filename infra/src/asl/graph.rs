//! What the ASL types cannot rule out, checked on a definition's JSON: a
//! transition that names no state, an unreachable state, a state with
//! neither `Next` nor `End`, a Map with both concurrency keys. Synth runs
//! it on every state machine's rendered `Definition`, overrides included.

use std::collections::{BTreeSet, HashSet, VecDeque};

use serde_json::{Map, Value as Json};

/// Graph checks on an ASL definition (JSON): transitions that name no
/// state, unreachable states, and Map states with both concurrency keys.
/// Returns `(state path, message)` pairs.
pub(crate) fn problems(definition: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    graph_problems(definition, "", &mut out);
    out
}

/// One graph (the definition, a Map's processor, a Parallel branch): its
/// entry, each state, then reachability. `prefix` is the graph's path.
fn graph_problems(graph: &Json, prefix: &str, out: &mut Vec<(String, String)>) {
    let empty = Map::new();
    let g = Scope {
        states: graph["States"].as_object().unwrap_or(&empty),
        prefix,
    };
    let start = graph["StartAt"].as_str().unwrap_or("");
    if !g.states.contains_key(start) {
        out.push((
            format!("{prefix}StartAt"),
            format!(
                "StartAt names `{start}`, which is not a state here; use one of: {}",
                g.names()
            ),
        ));
    }
    for (name, s) in g.states {
        g.state_problems(name, s, out);
    }
    g.unreachable(start, out);
}

/// The states of one graph, which transitions may name.
struct Scope<'a> {
    states: &'a Map<String, Json>,
    prefix: &'a str,
}

impl Scope<'_> {
    fn names(&self) -> String {
        self.states
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One state: where it may go, how it ends, and the graphs nested in it.
    fn state_problems(&self, name: &str, s: &Json, out: &mut Vec<(String, String)>) {
        let path = format!("{}{name}", self.prefix);
        for t in targets(s) {
            if !self.states.contains_key(&t) {
                out.push((
                    path.clone(),
                    format!(
                        "transition to `{t}`, which is not a state in this scope; use one of: {}",
                        self.names()
                    ),
                ));
            }
        }
        let ty = s["Type"].as_str().unwrap_or("");
        let terminal = matches!(ty, "Fail" | "Succeed" | "Choice");
        if !terminal && s.get("Next").is_none() && s["End"] != Json::Bool(true) {
            out.push((
                path.clone(),
                "state has neither Next nor End: true; add one".into(),
            ));
        }
        if s.get("Next").is_some() && s["End"] == Json::Bool(true) {
            out.push((
                path.clone(),
                "state has both Next and End: true; keep one".into(),
            ));
        }
        if ty == "Map" {
            if s.get("MaxConcurrency").is_some() && s.get("MaxConcurrencyPath").is_some() {
                out.push((path.clone(), "Map sets both MaxConcurrency and MaxConcurrencyPath; keep one (MaxConcurrency::Fixed or ::Path)".into()));
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(p) = s.get(key) {
                    graph_problems(p, &format!("{path}.{key}."), out);
                }
            }
        }
        if ty == "Parallel" {
            for (i, b) in s["Branches"].as_array().into_iter().flatten().enumerate() {
                graph_problems(b, &format!("{path}.Branches.{i}."), out);
            }
        }
    }

    /// States no transition chain from `start` reaches.
    fn unreachable(&self, start: &str, out: &mut Vec<(String, String)>) {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([start.to_string()]);
        while let Some(name) = queue.pop_front() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(s) = self.states.get(&name) {
                queue.extend(targets(s));
            }
        }
        let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
        for name in self.states.keys() {
            if !seen.contains(name.as_str()) {
                out.push((
                    format!("{}{name}", self.prefix),
                    "state is unreachable from StartAt; remove it or add a transition to it".into(),
                ));
            }
        }
    }
}

/// The states a state may go to: `Next`, `Default`, and each choice's and
/// catcher's `Next`.
fn targets(s: &Json) -> Vec<String> {
    let mut t = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(n) = s[key].as_str() {
            t.push(n.to_string());
        }
    }
    for key in ["Choices", "Catch"] {
        for c in s[key].as_array().into_iter().flatten() {
            if let Some(n) = c["Next"].as_str() {
                t.push(n.to_string());
            }
        }
    }
    t
}
