//! `render --variables JSON | --variables-file FILE [--strict-variables]`:
//! reading the values and checking them against the project's
//! declarations before anything is uploaded or started.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use hyperframes_producer::variables::{self, Problem, ProblemKind, UrlCheck, Variables};
use hyperframes_producer::AssetMap;

/// The variable flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VariableArgs {
    /// Variable values: a JSON object keyed by variable id, e.g. '{"title":"Hello"}'.
    #[arg(long, conflicts_with = "variables_file")]
    pub variables: Option<String>,
    /// A file holding the variable values (one JSON object).
    #[arg(long)]
    pub variables_file: Option<PathBuf>,
    /// Fail (before any upload or AWS call) on any problem with the values
    /// or the declarations, instead of warning.
    #[arg(long)]
    pub strict_variables: bool,
}

impl VariableArgs {
    /// The values the flags give, if any.
    pub fn values(&self) -> Result<Option<Variables>> {
        match (&self.variables, &self.variables_file) {
            (Some(_), Some(_)) => {
                bail!("--variables and --variables-file conflict; pass one of them")
            }
            (Some(text), None) => Ok(Some(
                Variables::parse(text, "--variables").map_err(|e| anyhow!(e))?,
            )),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow!("could not read --variables-file {}: {e}", path.display())
                })?;
                let source = format!("--variables-file {}", path.display());
                Ok(Some(
                    Variables::parse(&text, &source).map_err(|e| anyhow!(e))?,
                ))
            }
            (None, None) => Ok(None),
        }
    }
}

/// Every problem with `values` against the declarations of `project`'s
/// `entry` file. Relative image/font URLs must be files in the project;
/// remote ones must be in `assets` when given (a local plan's map).
pub fn problems(
    project: &Path,
    entry: &str,
    values: &Variables,
    assets: Option<&AssetMap>,
) -> Result<Vec<Problem>, String> {
    let schema = variables::schema_for_project(project, entry)?;
    let mut out = variables::validate(
        &schema,
        values,
        UrlCheck {
            project_dir: Some(project),
            assets,
        },
    );
    if schema.is_empty() {
        out.insert(
            0,
            Problem {
                path: entry.to_string(),
                kind: ProblemKind::NoSchema,
                message: "declares no variables (no usable data-composition-variables on <html> or a composition root), so there is nothing to check the values against".into(),
            },
        );
    }
    Ok(out)
}

/// Checks the flags' values, printing warnings on standard error; with
/// `--strict-variables`, any problem (or no declarations to check against)
/// is one error listing them all. `project` is None for a `--site-id`
/// render, whose declarations are not on this machine.
pub fn check(
    args: &VariableArgs,
    project: Option<&Path>,
    entry: &str,
    assets: Option<&AssetMap>,
) -> Result<Option<Variables>> {
    let values = args.values()?;
    if values.is_none() && !args.strict_variables {
        return Ok(None);
    }
    let given = values.clone().unwrap_or_default();
    let Some(project) = project else {
        if args.strict_variables {
            bail!("--strict-variables needs the project directory to read its declarations; render the directory instead of --site-id, or drop --strict-variables");
        }
        eprintln!("warning: the variables are not checked: a --site-id render has no local project to read declarations from");
        return Ok(values);
    };
    let problems = match problems(project, entry, &given, assets) {
        Ok(p) => p,
        Err(e) if args.strict_variables => bail!("--strict-variables: {e}"),
        Err(e) => {
            eprintln!("warning: the variables are not checked: {e}");
            return Ok(values);
        }
    };
    // Without values there is nothing to warn about unless strict asked.
    let problems: Vec<Problem> = if given.is_empty() && !args.strict_variables {
        Vec::new()
    } else {
        problems
    };
    if problems.is_empty() {
        return Ok(values);
    }
    let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    if args.strict_variables {
        bail!(
            "variable validation failed ({} problem(s)); nothing was rendered or uploaded:\n{}",
            problems.len(),
            list.join("\n")
        );
    }
    eprintln!(
        "warning: {} variable problem(s); rendering with the values as given:\n{}",
        problems.len(),
        list.join("\n")
    );
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &str, strict: bool) -> VariableArgs {
        VariableArgs {
            variables: Some(v.into()),
            variables_file: None,
            strict_variables: strict,
        }
    }

    fn project(decls: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            format!("<html data-composition-variables='{decls}'><body></body></html>"),
        )
        .unwrap();
        dir
    }

    #[test]
    fn strict_lists_every_problem_in_one_error() {
        let dir = project(
            r#"[{"id":"t","type":"string","label":"T","default":"x"},{"id":"c","type":"color","label":"C","default":"red"}]"#,
        );
        let e = check(
            &args(r#"{"t":1,"c":"nope","x":2}"#, true),
            Some(dir.path()),
            "index.html",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("3 problem(s)"), "{e}");
        for path in ["variables.t:", "variables.c:", "variables.x:"] {
            assert!(e.contains(path), "{e}");
        }
        // Not strict: the same values pass through, unchanged.
        let v = check(
            &args(r#"{"t":1,"c":"nope","x":2}"#, false),
            Some(dir.path()),
            "index.html",
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn strict_refuses_an_empty_or_unreadable_schema() {
        let dir = project("not json");
        let e = check(
            &args(r#"{"t":1}"#, true),
            Some(dir.path()),
            "index.html",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("declares no variables") && e.contains("not JSON"),
            "{e}"
        );
        let e = check(
            &args(r#"{"t":1}"#, true),
            Some(Path::new("/nonexistent")),
            "index.html",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot read /nonexistent/index.html"), "{e}");
        let e = check(&args(r#"{"t":1}"#, true), None, "index.html", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--site-id"), "{e}");
    }

    #[test]
    fn the_value_flags_exclude_each_other_and_name_their_errors() {
        let both = VariableArgs {
            variables: Some("{}".into()),
            variables_file: Some("x".into()),
            strict_variables: false,
        };
        assert!(both.values().unwrap_err().to_string().contains("conflict"));
        let file = VariableArgs {
            variables: None,
            variables_file: Some("/nonexistent.json".into()),
            strict_variables: false,
        };
        assert!(file
            .values()
            .unwrap_err()
            .to_string()
            .contains("could not read --variables-file /nonexistent.json"));
        assert!(args("[1]", false)
            .values()
            .unwrap_err()
            .to_string()
            .contains("got array"));
    }
}
