//! CloudFormation's quotas and the shape of names, checked on the whole
//! template.

use serde_json::{Map, Value as Json};

use crate::synth::Problem;

/// Most resources one template may declare (a CloudFormation quota, like
/// the limits below); synth reports more and suggests nested stacks.
pub const MAX_RESOURCES: usize = 500;
/// Most outputs one template may declare; synth reports more.
pub const MAX_OUTPUTS: usize = 200;
/// Most parameters one template may declare; synth reports more.
pub const MAX_PARAMETERS: usize = 200;
/// Largest template body, in bytes, CloudFormation accepts from S3; synth
/// reports a larger minified body.
pub const MAX_BODY_BYTES: usize = 1_048_576;
/// Largest template body, in bytes, passed inline to the API; above it,
/// upload to S3 first. Synth does not check it: deploy tooling decides.
pub const MAX_INLINE_BODY_BYTES: usize = 51_200;

/// A rendered template's sections, as far as limits and names go.
pub(super) struct Sections<'a> {
    pub(super) parameters: &'a Map<String, Json>,
    pub(super) conditions: &'a Map<String, Json>,
    pub(super) resources: &'a Map<String, Json>,
    pub(super) outputs: &'a Map<String, Json>,
}

/// Section sizes, the body size, names, and at least one resource.
pub(super) fn check(t: &Json, s: &Sections<'_>, out: &mut Vec<Problem>) {
    check_counts(t, s, out);
    check_names(s, out);
    if s.resources.is_empty() {
        out.push(Problem::new(
            "Resources",
            "",
            "a template needs at least one resource",
        ));
    }
}

fn check_counts(t: &Json, s: &Sections<'_>, out: &mut Vec<Problem>) {
    let limits = [
        (
            "Resources",
            s.resources.len(),
            MAX_RESOURCES,
            "split the stack into nested stacks",
        ),
        (
            "Outputs",
            s.outputs.len(),
            MAX_OUTPUTS,
            "remove outputs nobody reads",
        ),
        (
            "Parameters",
            s.parameters.len(),
            MAX_PARAMETERS,
            "bake values in instead of declaring parameters",
        ),
    ];
    for (section, n, max, fix) in limits {
        if n > max {
            out.push(Problem::new(
                section,
                "",
                format!("{n} entries exceed CloudFormation's limit of {max}; {fix}"),
            ));
        }
    }
    let body = serde_json::to_string(t).map(|s| s.len()).unwrap_or(0);
    if body > MAX_BODY_BYTES {
        out.push(Problem::new(
            "Template",
            "",
            format!("the minified body is {body} bytes, over CloudFormation's limit of {MAX_BODY_BYTES}; move large inline content (policies, definitions) out or split the stack"),
        ));
    }
}

/// Logical IDs and names: 1-255 ASCII letters and digits.
fn check_names(s: &Sections<'_>, out: &mut Vec<Problem>) {
    for (kind, entries) in [
        ("parameter", s.parameters),
        ("condition", s.conditions),
        ("resource", s.resources),
        ("output", s.outputs),
    ] {
        for id in entries.keys() {
            if id.is_empty() || id.len() > 255 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                out.push(Problem::new(
                    id.clone(),
                    "",
                    format!("{kind} name `{id}` must be 1-255 ASCII letters and digits (no `-`, `_` or spaces); rename it"),
                ));
            }
        }
    }
}
