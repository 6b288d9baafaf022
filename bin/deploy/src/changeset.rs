//! Change sets: create one, wait for CloudFormation to compute it, show it
//! as a table, and refuse the ones that would replace the render bucket.
//!
//! `sam deploy --no-confirm-changeset` executes without showing anything;
//! here the diff is always printed first, and IAM changes are called out
//! the way `cdk deploy` does.

use anyhow::{bail, Result};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, ResourceChange, Tag,
};
use hyperframes_infra::stack::ids;

use hyperframes_cli::aws::{poll_interval, Aws};

/// One row of the change table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False`, `Conditional`, or `-` when it does not apply (Add, Remove).
    pub replacement: String,
}

/// Where the template comes from: inline, or an S3 URL when over the
/// 51,200-byte `TemplateBody` limit.
pub enum TemplateSource {
    Body(String),
    Url(String),
}

pub struct Request<'a> {
    pub stack_name: &'a str,
    pub kind: ChangeSetType,
    pub template: &'a TemplateSource,
    pub parameters: &'a [(String, String)],
    pub capabilities: &'a [String],
    pub tags: &'a [(String, String)],
}

/// What CloudFormation made of the request.
pub enum Computed {
    Ready { id: String, rows: Vec<Row> },
    NoChanges { id: String },
}

/// Creates the change set, always with an explicit type: moto assumes
/// CREATE when it is missing (AWS assumes UPDATE), and a wrong guess there
/// crashes the emulator rather than failing cleanly.
pub async fn create(aws: &Aws, req: &Request<'_>) -> Result<Computed> {
    let name = format!("hyperframes-deploy-{}", unix_now());
    let mut call = aws
        .cfn
        .create_change_set()
        .stack_name(req.stack_name)
        .change_set_name(&name)
        .change_set_type(req.kind.clone())
        .description("hyperframes deploy");
    call = match req.template {
        TemplateSource::Body(b) => call.template_body(b),
        TemplateSource::Url(u) => call.template_url(u),
    };
    for (k, v) in req.parameters {
        call = call.parameters(
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build(),
        );
    }
    for c in req.capabilities {
        call = call.capabilities(Capability::from(c.as_str()));
    }
    for (k, v) in req.tags {
        call = call.tags(Tag::builder().key(k).value(v).build());
    }
    let created = call
        .send()
        .await
        .map_err(|e| aws.explain("cloudformation:CreateChangeSet", &e))?;
    let id = created.id().unwrap_or(&name).to_string();
    wait_until_computed(aws, id, req.stack_name).await
}

/// Polls the change set until CloudFormation has computed it.
async fn wait_until_computed(aws: &Aws, id: String, stack_name: &str) -> Result<Computed> {
    let mut attempt = 0;
    loop {
        let (status, reason, rows) = describe(aws, &id, stack_name).await?;
        match status {
            Some(ChangeSetStatus::CreateComplete) => return Ok(Computed::Ready { id, rows }),
            Some(ChangeSetStatus::Failed) => {
                let reason = reason.unwrap_or_default();
                if is_no_change(&reason) {
                    return Ok(Computed::NoChanges { id });
                }
                let _ = delete(aws, &id, stack_name).await;
                bail!("CloudFormation could not create the change set: {reason}");
            }
            _ => {
                tokio::time::sleep(poll_interval(attempt)).await;
                attempt += 1;
            }
        }
    }
}

/// The change set's status, its reason, and its resource changes (listed
/// whole only once the set is complete).
async fn describe(
    aws: &Aws,
    id: &str,
    stack_name: &str,
) -> Result<(Option<ChangeSetStatus>, Option<String>, Vec<Row>)> {
    let mut rows = Vec::new();
    let mut status = None;
    let mut reason = None;
    let mut pages = aws
        .cfn
        .describe_change_set()
        .change_set_name(id)
        .stack_name(stack_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.explain("cloudformation:DescribeChangeSet", &e))?;
        status = page.status().cloned();
        reason = page.status_reason().map(str::to_string);
        rows.extend(
            page.changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(row),
        );
        if status != Some(ChangeSetStatus::CreateComplete) {
            break;
        }
    }
    Ok((status, reason, rows))
}

fn row(r: &ResourceChange) -> Row {
    Row {
        action: r
            .action()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "?".into()),
        logical_id: r.logical_resource_id().unwrap_or("?").to_string(),
        resource_type: r.resource_type().unwrap_or("?").to_string(),
        replacement: r
            .replacement()
            .map(|x| x.as_str().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into()),
    }
}

pub async fn delete(aws: &Aws, id: &str, stack_name: &str) -> Result<()> {
    aws.cfn
        .delete_change_set()
        .change_set_name(id)
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| aws.explain("cloudformation:DeleteChangeSet", &e))?;
    Ok(())
}

/// AWS's two wordings for "nothing to do" (change set, and UpdateStack).
pub fn is_no_change(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// The change set as an aligned table, one resource per line.
pub fn table(rows: &[Row]) -> String {
    let head = Row {
        action: "Action".into(),
        logical_id: "Logical ID".into(),
        resource_type: "Type".into(),
        replacement: "Replacement".into(),
    };
    let all: Vec<&Row> = std::iter::once(&head).chain(rows.iter()).collect();
    let w = |f: fn(&Row) -> &str| all.iter().map(|r| f(r).len()).max().unwrap_or(0);
    let (wa, wl, wt) = (
        w(|r| &r.action),
        w(|r| &r.logical_id),
        w(|r| &r.resource_type),
    );
    let mut out = String::new();
    for r in all {
        out.push_str(&format!(
            "  {:<wa$}  {:<wl$}  {:<wt$}  {}\n",
            r.action, r.logical_id, r.resource_type, r.replacement
        ));
    }
    out
}

/// IAM resources that the change set adds, modifies or removes: the part
/// of a diff that changes who may do what, so it is listed on its own.
pub fn iam_changes(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.resource_type.starts_with("AWS::IAM::"))
        .collect()
}

/// The render bucket holds every render; replacing it (a new name, old
/// data orphaned in a retained bucket) must be a deliberate choice.
pub fn bucket_guard(rows: &[Row], allow_replace: bool) -> Result<(), String> {
    if allow_replace {
        return Ok(());
    }
    let Some(r) = rows.iter().find(|r| r.logical_id == ids::RENDER_BUCKET) else {
        return Ok(());
    };
    let why = match (r.action.as_str(), r.replacement.as_str()) {
        ("Modify", "True") => "would REPLACE the render bucket",
        ("Modify", "Conditional") => "may replace the render bucket (Replacement: Conditional)",
        ("Remove", _) => "would remove the render bucket from the stack",
        _ => return Ok(()),
    };
    Err(format!(
        "refusing to execute: this change set {why}. The old bucket is retained with its renders, but the stack \
         would use a new, empty bucket with another name and `render` would stop finding earlier outputs. \
         If that is intended, rerun with --allow-replace-bucket."
    ))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str, id: &str, ty: &str, repl: &str) -> Row {
        Row {
            action: action.into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: repl.into(),
        }
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            row("Modify", "RenderFunction", "AWS::Lambda::Function", "False"),
            row("Add", "RenderBucket", "AWS::S3::Bucket", "-"),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("  Action  Logical ID      Type                   Replacement"),
            "{t}"
        );
        assert!(
            lines[1].contains("Modify  RenderFunction  AWS::Lambda::Function  False"),
            "{t}"
        );
        let col = |l: &str| l.find("AWS::").unwrap();
        assert_eq!(col(lines[1]), col(lines[2]));
    }

    #[test]
    fn bucket_replacement_is_refused_unless_allowed() {
        let replace = [row("Modify", "RenderBucket", "AWS::S3::Bucket", "True")];
        assert!(bucket_guard(&replace, false)
            .unwrap_err()
            .contains("--allow-replace-bucket"));
        assert!(bucket_guard(&replace, true).is_ok());
        let maybe = [row(
            "Modify",
            "RenderBucket",
            "AWS::S3::Bucket",
            "Conditional",
        )];
        assert!(bucket_guard(&maybe, false).is_err());
        let remove = [row("Remove", "RenderBucket", "AWS::S3::Bucket", "-")];
        assert!(bucket_guard(&remove, false).is_err());
        let in_place = [
            row("Modify", "RenderBucket", "AWS::S3::Bucket", "False"),
            row("Add", "X", "AWS::SNS::Topic", "-"),
        ];
        assert!(bucket_guard(&in_place, false).is_ok());
    }

    #[test]
    fn both_no_change_wordings() {
        assert!(is_no_change("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_change("No updates are to be performed."));
        assert!(!is_no_change("Template format error"));
    }
}
