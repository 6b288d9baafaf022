//! What synth returns: the validated template ([`Synthesized`]), or every
//! [`Problem`] found ([`ValidationErrors`]). The rules themselves are in
//! [`crate::validate`] and beside each resource type.

use std::fmt;

use serde_json::Value as Json;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The logical ID (or template section) at fault.
    pub location: String,
    /// The property path inside it, empty when the whole entry is at fault.
    pub property: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `location` (a logical ID or section), `property` (a dotted
    /// path inside it, or empty), with a `message` that says how to fix it.
    pub fn new(
        location: impl Into<String>,
        property: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            location: location.into(),
            property: property.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.property.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}.{}: {}", self.location, self.property, self.message)
        }
    }
}

/// Every problem found, in template order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationErrors(pub Vec<Problem>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the template has {} problem{}:",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl From<Vec<Problem>> for ValidationErrors {
    fn from(problems: Vec<Problem>) -> Self {
        ValidationErrors(problems)
    }
}

/// A validated template, ready to print or deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    json: Json,
}

impl Synthesized {
    pub(crate) fn new(json: Json) -> Self {
        Synthesized { json }
    }

    /// The template as JSON, e.g. for assertions in tests.
    pub fn as_json(&self) -> &Json {
        &self.json
    }

    /// The template as JSON, by value.
    pub fn into_json(self) -> Json {
        self.json
    }

    /// Pretty JSON with a trailing newline; key order is the model's
    /// insertion order, so the same program prints the same bytes.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.json).expect("JSON serializes");
        s.push('\n');
        s
    }

    /// YAML in CloudFormation's long form (`Ref:`, `Fn::GetAtt:`), which
    /// every YAML template reader accepts.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(&self.json).expect("JSON converts to YAML")
    }

    /// The state machine definition of resource `logical_id`, if it has one.
    pub fn definition(&self, logical_id: &str) -> Option<&Json> {
        self.json["Resources"][logical_id]["Properties"].get("Definition")
    }
}
