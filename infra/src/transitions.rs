//! How many state transitions a render is billed for, read off the
//! workflow's own definition rather than written down as a formula: a
//! walk from `StartAt` that follows the path a successful render takes
//! (Choice rules evaluated on what the plan returns) and counts every state
//! entered, each Map iteration's states included. Standard workflows bill
//! one transition per state entered; retries add more, which a successful
//! render without retries does not have.

use serde_json::{json, Value as Json};

use crate::contract::{field, state_path, PlanProtocol};
use crate::workflow;

/// States entered by a render of `chunks` chunks that succeeds without a
/// retry, in the render workflow. An error names a state the walk cannot
/// follow (a definition this walker does not understand).
pub fn for_render(chunks: u32, protocol: PlanProtocol) -> Result<u64, String> {
    let definition = workflow::render_workflow().to_json();
    let plan = state_path::PLAN.trim_start_matches("$.");
    let facts = json!({
        field::PLAN_PROTOCOL: protocol.as_str(),
        plan: {field::CHUNK_COUNT: chunks, field::PLAN_PROTOCOL: protocol.as_str()},
    });
    entered(&definition, &facts, chunks)
}

/// Counts the states entered walking `graph` (a definition or a Map's
/// item processor); `items` is how many times each Map runs its processor.
pub fn entered(graph: &Json, facts: &Json, items: u32) -> Result<u64, String> {
    let states = graph["States"]
        .as_object()
        .ok_or("the graph has no States")?;
    let mut name = graph["StartAt"]
        .as_str()
        .ok_or("the graph has no StartAt")?
        .to_string();
    let mut count = 0u64;
    // A successful path visits each state at most once; more steps than
    // states means a loop the walk cannot bound.
    for _ in 0..=states.len() {
        let s = states
            .get(&name)
            .ok_or_else(|| format!("transition to unknown state `{name}`"))?;
        count += 1;
        let next = match s["Type"].as_str().unwrap_or("") {
            "Succeed" | "Fail" => return Ok(count),
            "Choice" => Some(choose(&name, s, facts)?),
            "Map" => {
                let processor = s.get("ItemProcessor").or_else(|| s.get("Iterator"));
                let processor =
                    processor.ok_or_else(|| format!("Map `{name}` has no ItemProcessor"))?;
                count += u64::from(items) * entered(processor, facts, items)?;
                s["Next"].as_str().map(str::to_string)
            }
            "Task" | "Pass" | "Wait" => s["Next"].as_str().map(str::to_string),
            other => {
                return Err(format!(
                    "state `{name}` has type `{other}`, which the walk does not follow"
                ))
            }
        };
        match next {
            Some(n) => name = n,
            None if s["End"] == json!(true) => return Ok(count),
            None => return Err(format!("state `{name}` has neither Next nor End")),
        }
    }
    Err("the walk loops; the workflow has a cycle".into())
}

fn choose(name: &str, s: &Json, facts: &Json) -> Result<String, String> {
    for c in s["Choices"].as_array().into_iter().flatten() {
        if holds(c, facts)? {
            return c["Next"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("a choice of `{name}` has no Next"));
        }
    }
    s["Default"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no choice of `{name}` matches and it has no Default"))
}

/// A JSONPath of plain `$.a.b` steps.
fn lookup<'a>(facts: &'a Json, path: &str) -> Option<&'a Json> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(facts, |v, key| v.get(key))
}

fn holds(rule: &Json, facts: &Json) -> Result<bool, String> {
    if let Some(inner) = rule.get("Not") {
        return Ok(!holds(inner, facts)?);
    }
    for (key, all) in [("And", true), ("Or", false)] {
        if let Some(rules) = rule.get(key).and_then(Json::as_array) {
            let results = rules
                .iter()
                .map(|r| holds(r, facts))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if all {
                results.iter().all(|b| *b)
            } else {
                results.iter().any(|b| *b)
            });
        }
    }
    let path = rule["Variable"].as_str().ok_or("a rule has no Variable")?;
    let value = lookup(facts, path);
    let num = |v: &Json| v.as_f64();
    if let Some(want) = rule.get("IsPresent") {
        return Ok(value.is_some() == (want == &json!(true)));
    }
    let value = value.ok_or_else(|| format!("{path} is not in the facts the walk knows"))?;
    if let Some(want) = rule.get("StringEquals") {
        return Ok(value == want);
    }
    for (op, cmp) in [
        ("NumericGreaterThan", f64::gt as fn(&f64, &f64) -> bool),
        ("NumericLessThan", f64::lt),
        ("NumericEquals", f64::eq),
    ] {
        if let Some(want) = rule.get(op).and_then(num) {
            let have = num(value).ok_or_else(|| format!("{path} is not a number"))?;
            return Ok(cmp(&have, &want));
        }
    }
    Err(format!(
        "rule on {path} uses an operator the walk does not evaluate"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fan_out_state_per_chunk_on_top_of_the_fixed_path() {
        // SelectPlanProtocol, PlanV2, AssertChunkCount, SelectConcurrency,
        // BuildChunkList(WithConcurrency), SelectWorkerProtocol,
        // RenderChunksV2, AssembleV2 + one RenderChunkV2 each.
        let base = for_render(1, PlanProtocol::V2).unwrap() - 1;
        assert_eq!(base, 8);
        for n in [2, 10, 1000] {
            assert_eq!(
                for_render(n, PlanProtocol::V2).unwrap(),
                base + u64::from(n)
            );
        }
        assert_eq!(for_render(3, PlanProtocol::V1).unwrap(), base + 3);
    }

    #[test]
    fn the_walk_refuses_what_it_cannot_follow() {
        let g = json!({"StartAt": "A", "States": {"A": {"Type": "Parallel", "End": true}}});
        assert!(entered(&g, &json!({}), 1).unwrap_err().contains("Parallel"));
        let g = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}});
        assert!(entered(&g, &json!({}), 1).unwrap_err().contains("cycle"));
    }
}
