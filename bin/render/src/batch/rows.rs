//! The rows of a batch (`ROWS.jsonl`): one JSON object per line, read into
//! a typed [`Row`] (unknown fields refused), then checked together: every
//! problem of every row is reported at once, by physical line number,
//! before anything is uploaded or started.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use hyperframes_producer::variables::Variables;
use hyperframes_producer::{AssetMap, Codec, Format, Preset, Quality, RenderConfig};

/// One line of the rows file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Row {
    /// Where the video goes: the S3 key in the render bucket on a stack,
    /// the path under `--out-dir` locally.
    pub output_key: String,
    /// The composition's variable values for this row.
    #[serde(default)]
    pub variables: Option<Variables>,
    /// The render id (the execution name); default derived from the row.
    #[serde(default)]
    pub render_id: Option<String>,
    /// Another name for `renderId` (the reference's).
    #[serde(default)]
    pub execution_name: Option<String>,
    #[serde(default)]
    pub fps: Option<u32>,
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub quality: Option<Quality>,
}

/// The batch-wide settings the rows override.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub fps: u32,
    pub format: Option<Format>,
    pub quality: Option<Quality>,
    pub codec: Option<Codec>,
    pub preset: Option<Preset>,
    pub chunk_size: Option<u32>,
    pub max_parallel_chunks: Option<u32>,
    /// On a stack, the config says `runtimeCap: lambda` (as `render` does).
    pub lambda: bool,
    /// `render --allow-host-fonts`: `rejectOnSystemFonts: false`.
    pub allow_host_fonts: bool,
}

/// How the variables are checked: against the project's declarations;
/// image URLs against `assets` when given (a local render's map).
pub struct VarCheck<'a> {
    pub project: &'a Path,
    pub entry: &'a str,
    pub assets: Option<&'a AssetMap>,
    pub strict: bool,
}

/// A row ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    /// Physical line in the rows file (1-based).
    pub line: usize,
    pub output_key: String,
    /// `renderId`/`executionName` when the row gives one.
    pub given_name: Option<String>,
    pub config: RenderConfig,
    /// SHA-256 over the site, the output key and the config (values
    /// included): what makes a row the same row on a re-run.
    pub hash: String,
}

impl BatchRow {
    /// The execution name of the row's first attempt: the given one, else
    /// `hfb-` and the start of the row's hash (the same row of the same
    /// template gets the same name on every run).
    pub fn base_name(&self) -> String {
        self.given_name
            .clone()
            .unwrap_or_else(|| format!("hfb-{}", &self.hash[..24]))
    }
}

/// The checked rows, and the warnings (variable problems without
/// `--strict-variables`).
#[derive(Debug, Default)]
pub struct Checked {
    pub rows: Vec<BatchRow>,
    pub warnings: Vec<String>,
}

/// Reads and checks every row; `Err` lists every problem, each with its line.
pub fn check(
    text: &str,
    site_id: &str,
    defaults: &Defaults,
    vars: &VarCheck,
) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = Checked::default();
    let parsed = parse(text, &mut problems);
    if parsed.is_empty() && problems.is_empty() {
        problems.push("the rows file has no rows (one JSON object per line, e.g. {\"outputKey\":\"out/a.mp4\",\"variables\":{\"title\":\"Hi\"}})".into());
    }
    let schema_note = check_variables(&parsed, vars, &mut problems, &mut out.warnings);
    if let Some(note) = schema_note {
        problems.push(note);
    }
    for (line, row) in &parsed {
        if let Some(r) = check_row(*line, row, site_id, defaults, &mut problems) {
            out.rows.push(r);
        }
    }
    check_unique(&out.rows, &mut problems);
    // In file order (a problem of the whole file first).
    problems.sort_by_key(|p| line_of(p));
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn line_of(problem: &str) -> usize {
    problem
        .strip_prefix("line ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The rows that parse; a problem per line that does not. Blank lines are skipped.
fn parse(text: &str, problems: &mut Vec<String>) -> Vec<(usize, Row)> {
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Row>(raw) {
            Ok(r) => rows.push((line, r)),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg
                    .rsplit_once(" at line ")
                    .map_or(msg.as_str(), |(m, _)| m);
                problems.push(format!("line {line}: {msg} (column {})", e.column()));
            }
        }
    }
    rows
}

/// Checks every row's values against the declarations: problems are
/// errors with `strict`, warnings otherwise. Returns the error when the
/// declarations themselves cannot be read under `strict`.
fn check_variables(
    rows: &[(usize, Row)],
    vars: &VarCheck,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let empty = Variables::default();
    for (line, row) in rows {
        let values = row.variables.as_ref().unwrap_or(&empty);
        if values.is_empty() && !vars.strict {
            continue;
        }
        match crate::variables::problems(vars.project, vars.entry, values, vars.assets) {
            Ok(found) => {
                let sink = if vars.strict {
                    &mut *problems
                } else {
                    &mut *warnings
                };
                sink.extend(found.iter().map(|p| format!("line {line}: {p}")));
            }
            Err(e) if vars.strict => return Some(format!("--strict-variables: {e}")),
            Err(e) => {
                warnings.push(format!("the variables are not checked: {e}"));
                return None;
            }
        }
    }
    None
}

/// The row's render config, name and hash; its problems pushed.
fn check_row(
    line: usize,
    row: &Row,
    site_id: &str,
    d: &Defaults,
    problems: &mut Vec<String>,
) -> Option<BatchRow> {
    let before = problems.len();
    let key = row.output_key.as_str();
    if key.is_empty() || key.starts_with('/') || key.split('/').any(|p| p == ".." || p.is_empty()) {
        problems.push(format!("line {line}: outputKey {key:?} must be a relative path like \"videos/anna.mp4\" (no leading /, no empty or .. parts)"));
    }
    let given_name = match (&row.render_id, &row.execution_name) {
        (Some(a), Some(b)) if a != b => {
            problems.push(format!(
                "line {line}: renderId {a:?} and executionName {b:?} differ; give one of them"
            ));
            None
        }
        (Some(a), _) | (None, Some(a)) => Some(a.clone()),
        (None, None) => None,
    };
    if let Some(n) = &given_name {
        // Room for a retry suffix (`-r12`) within the 80 characters.
        if let Err(e) = crate::execution::check_render_id(n).and_then(|_| {
            if n.len() > 76 {
                anyhow::bail!("render id `{n}` is over 76 characters (a retry adds `-rN`)")
            }
            Ok(())
        }) {
            problems.push(format!("line {line}: {e}"));
        }
    }
    let format = row.format.or(d.format).or_else(|| format_of(key));
    let Some(format) = format else {
        problems.push(format!("line {line}: outputKey {key:?}: cannot tell the format from its extension (.mp4, .mov, .webm, .tar.gz); add \"format\" to the row or pass --format"));
        return None;
    };
    let config = config(row, d, format);
    if let Err(e) = config.validate() {
        problems.push(format!("line {line}: {e}"));
    }
    if problems.len() > before {
        return None;
    }
    let hash = row_hash(site_id, key, &config);
    Some(BatchRow {
        line,
        output_key: key.to_string(),
        given_name,
        config,
        hash,
    })
}

/// The format an output's name implies.
pub fn format_of(key: &str) -> Option<Format> {
    let lower = key.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        return Some(Format::PngSequence);
    }
    match lower.rsplit_once('.').map(|(_, e)| e) {
        Some("mp4") => Some(Format::Mp4),
        Some("mov") => Some(Format::Mov),
        Some("webm") => Some(Format::Webm),
        _ => None,
    }
}

fn config(row: &Row, d: &Defaults, format: Format) -> RenderConfig {
    let mut c = RenderConfig::new(row.fps.unwrap_or(d.fps), format);
    c.quality = row.quality.or(d.quality);
    c.codec = d.codec;
    c.preset = d.preset;
    c.chunk_size = d.chunk_size;
    c.max_parallel_chunks = d.max_parallel_chunks;
    c.variables = row.variables.clone().filter(|v| !v.is_empty());
    if d.lambda {
        c.runtime_cap = Some("lambda".into());
    }
    c.reject_on_system_fonts = d.allow_host_fonts.then_some(false);
    c
}

fn row_hash(site_id: &str, key: &str, config: &RenderConfig) -> String {
    let mut h = Sha256::new();
    for part in [
        site_id,
        key,
        &serde_json::to_string(config).expect("a config serializes"),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hyperframes_producer::plan::digest::hex(&h.finalize())
}

/// Two rows may not write the same output or use the same render id.
fn check_unique(rows: &[BatchRow], problems: &mut Vec<String>) {
    let mut keys: HashMap<&str, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for r in rows {
        if let Some(first) = keys.insert(&r.output_key, r.line) {
            keys.insert(&r.output_key, first);
            problems.push(format!(
                "line {}: outputKey {:?} is also line {first}'s; each row needs its own output",
                r.line, r.output_key
            ));
        }
        if let Some(n) = &r.given_name {
            if let Some(first) = names.insert(n.clone(), r.line) {
                names.insert(n.clone(), first);
                problems.push(format!(
                    "line {}: renderId {n:?} is also line {first}'s",
                    r.line
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            r#"<html data-composition-variables='[{"id":"t","type":"string","label":"T","default":"x","maxLength":5}]'><body></body></html>"#,
        )
        .unwrap();
        dir
    }

    fn defaults() -> Defaults {
        Defaults {
            fps: 30,
            ..Defaults::default()
        }
    }

    #[test]
    fn every_problem_of_every_row_is_named_by_its_physical_line() {
        let p = project();
        let vars = VarCheck {
            project: p.path(),
            entry: "index.html",
            assets: None,
            strict: true,
        };
        let text = "{\"outputKey\":\"a.mp4\",\"variables\":{\"t\":\"ok\"}}\n\n{\"outputKey\":\"b.mp4\",\"colour\":1}\n{\"outputKey\":\"a.mp4\"}\n{\"outputKey\":\"c.mp4\",\"variables\":{\"t\":\"too long\"},\"fps\":300}\n{\"outputKey\":\"d\"}\nnot json\n{\"outputKey\":\"/e.mp4\",\"renderId\":\"x y\"}\n";
        let e = check(text, "site", &defaults(), &vars).unwrap_err();
        let all = e.join("\n");
        for needle in [
            "line 3: unknown field `colour`",
            "line 4: outputKey \"a.mp4\" is also line 1's",
            "line 5: variables.t: is 8 characters, over the declared maxLength 5",
            "line 5: invalid render config: config.fps: 300 is outside 1-240",
            "line 6: outputKey \"d\": cannot tell the format",
            "line 7: expected ident",
            "line 8: outputKey \"/e.mp4\" must be a relative path",
            "line 8: render id `x y`",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert_eq!(e.len(), 8, "{all}");
    }

    #[test]
    fn names_are_the_rows_own_and_stable() {
        let p = project();
        let vars = VarCheck {
            project: p.path(),
            entry: "index.html",
            assets: None,
            strict: false,
        };
        let text = "{\"outputKey\":\"a.mp4\",\"variables\":{\"t\":\"ok\"}}\n{\"outputKey\":\"b.webm\",\"executionName\":\"mine\",\"variables\":{\"t\":\"far too long\"}}\n";
        let c = check(text, "site", &defaults(), &vars).unwrap();
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("line 2: variables.t"));
        assert_eq!(c.rows[1].base_name(), "mine");
        assert_eq!(c.rows[1].config.format, Format::Webm);
        let again = check(&format!("\n{text}"), "site", &defaults(), &vars).unwrap();
        assert_eq!(again.rows[0].base_name(), c.rows[0].base_name());
        assert_eq!(again.rows[0].line, 2);
        let other_site = check(text, "site2", &defaults(), &vars).unwrap();
        assert_ne!(other_site.rows[0].base_name(), c.rows[0].base_name());
    }
}
