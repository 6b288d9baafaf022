//! Reading a project's declarations: `data-composition-variables` on the
//! entry file's `<html>` and on its composition roots. The reference's CLI
//! reads only `<html>` (a root-div declaration is invisible to its checks,
//! though its runtime honours it); both are read here.

use std::path::Path;

use super::schema::Schema;
use crate::plan::html;

/// The declarations of one HTML document; `file` names it in problem paths.
pub fn schema_for_html(text: &str, file: &str) -> Schema {
    let mut schema = Schema {
        origin: file.to_string(),
        ..Schema::default()
    };
    for tag in html::scan(text) {
        let Some(raw) = tag.attr("data-composition-variables") else {
            continue;
        };
        let at = match (tag.name.as_str(), tag.attr("data-composition-id")) {
            ("html", _) => format!("{file} <html> data-composition-variables"),
            (_, Some(id)) => {
                format!("{file} [data-composition-id={id:?}] data-composition-variables")
            }
            (name, None) => format!("{file} <{name}> data-composition-variables"),
        };
        schema.extend_from(raw, &at);
    }
    schema
}

/// The declarations of `project_dir`'s entry file (`entry`, e.g. index.html).
/// An unreadable file is an error naming it.
pub fn schema_for_project(project_dir: &Path, entry: &str) -> Result<Schema, String> {
    let path = project_dir.join(entry);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} to check the variables against its declarations: {e}",
            path.display()
        )
    })?;
    Ok(schema_for_html(&text, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_html_and_root_declarations_with_their_place() {
        let text = r#"<html data-composition-variables='[{"id":"a","type":"string","label":"A","default":"x"}]'><body>
          <div data-composition-id="main" data-composition-variables='[{"id":"b","type":"number","label":"B","default":"no"}]'></div></body></html>"#;
        let s = schema_for_html(text, "index.html");
        assert_eq!(s.declarations.len(), 1);
        assert_eq!(s.problems.len(), 1);
        assert_eq!(
            s.problems[0].path,
            r#"index.html [data-composition-id="main"] data-composition-variables[0]"#
        );
        let e = schema_for_project(Path::new("/nonexistent"), "index.html").unwrap_err();
        assert!(e.contains("/nonexistent/index.html"), "{e}");
    }
}
