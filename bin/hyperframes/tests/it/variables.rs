//! `render --variables/--variables-file/--strict-variables` against moto's
//! S3: strict validation fails before anything is uploaded or started, and
//! values too large for the execution input are put next to the plan.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hyperframes_testkit::moto::Moto;
use serde_json::json;

const BUCKET: &str = "renders";

struct Stack {
    moto: Moto,
    dir: PathBuf,
    outputs: PathBuf,
    s3: aws_sdk_s3::Client,
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The render bucket on moto, and stack outputs naming it and a state
/// machine that does not exist (a start would fail, visibly).
fn stack(name: &str) -> Stack {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let moto = Moto::start(&dir.join("moto"));
    let s3 = moto.s3_client();
    block(s3.create_bucket().bucket(BUCKET).send()).unwrap();
    let outputs = dir.join("outputs.json");
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:missing";
    std::fs::write(
        &outputs,
        json!({"RenderBucketName": BUCKET, "RenderStateMachineArn": arn}).to_string(),
    )
    .unwrap();
    Stack {
        moto,
        dir,
        outputs,
        s3,
    }
}

impl Stack {
    fn render(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperframes"));
        cmd.arg("render")
            .args(args)
            .args(["--outputs-file", self.outputs.to_str().unwrap()]);
        self.moto.configure(&mut cmd);
        cmd.output().unwrap()
    }

    fn keys(&self) -> Vec<String> {
        let out = block(self.s3.list_objects_v2().bucket(BUCKET).send()).unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A project declaring one variable of each kind the checks cover.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("index.html"),
        r##"<html data-composition-variables='[{"id":"title","type":"string","label":"T","default":"x","maxLength":8},{"id":"bg","type":"color","label":"B","default":"#000"},{"id":"mood","type":"enum","label":"M","default":"deep","options":[{"value":"deep","label":"D"}]},{"id":"logo","type":"image","label":"L","default":"logo.png"},{"id":"bad","type":"number","label":"N","default":"1"}]'><body>
<div data-composition-id="main" data-width="64" data-height="64" data-duration="1" data-no-timeline></div></body></html>"##,
    )
    .unwrap();
    p
}

#[test]
fn strict_variables_fail_before_any_upload_or_start_listing_every_problem() {
    let s = stack("vars-strict");
    let p = project(&s.dir);
    let values = r#"{"title":"far too long a title","bg":"not-a-colour","mood":"bright","logo":"javascript:alert(1)","nope":1}"#;
    let o = s.render(&[
        p.to_str().unwrap(),
        "--variables",
        values,
        "--strict-variables",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for needle in [
        "variable validation failed (6 problem(s))",
        "data-composition-variables[4]",
        "variables.title: is 20 characters, over the declared maxLength 8",
        "variables.bg:",
        "variables.mood: must be one of \"deep\"",
        "variables.logo: \"javascript:alert(1)\" is not a safe URL",
        "variables.nope: variable not declared",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    assert!(s.keys().is_empty(), "uploaded: {:?}", s.keys());

    // The two value flags exclude each other; a file is read as the flag is.
    let file = s.dir.join("vars.json");
    std::fs::write(&file, values).unwrap();
    let both = s.render(&[
        p.to_str().unwrap(),
        "--variables",
        "{}",
        "--variables-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(both.status.code(), Some(2), "{}", text(&both));
    assert!(
        text(&both).contains("cannot be used with"),
        "{}",
        text(&both)
    );
    let from_file = s.render(&[
        p.to_str().unwrap(),
        "--variables-file",
        file.to_str().unwrap(),
        "--strict-variables",
    ]);
    assert!(
        text(&from_file).contains("6 problem(s)"),
        "{}",
        text(&from_file)
    );
    assert!(s.keys().is_empty());
}

#[test]
fn values_too_large_for_the_input_are_put_next_to_the_plan() {
    let s = stack("vars-large");
    let p = project(&s.dir);
    let values = json!({"title": "ok", "bg": "#102030", "extra": "y".repeat(200_000)}).to_string();
    let file = s.dir.join("large.json");
    std::fs::write(&file, &values).unwrap();
    let o = s.render(&[
        p.to_str().unwrap(),
        "--variables-file",
        file.to_str().unwrap(),
        "--render-id",
        "r-large",
    ]);
    let out = text(&o);
    // Not strict: the undeclared name is a warning; the start itself fails
    // (the state machine does not exist), after the variables were put.
    assert!(
        out.contains("warning: 2 variable problem(s)") && out.contains("variables.extra"),
        "{out}"
    );
    assert!(
        out.contains("too large for the execution input")
            && out.contains("s3://renders/renders/r-large/variables.json"),
        "{out}"
    );
    assert!(out.contains("cannot start the render"), "{out}");
    let body = block(async {
        let got =
            s.s3.get_object()
                .bucket(BUCKET)
                .key("renders/r-large/variables.json")
                .send()
                .await
                .unwrap();
        got.body.collect().await.unwrap().into_bytes()
    });
    let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        stored,
        serde_json::from_str::<serde_json::Value>(&values).unwrap()
    );

    // The site is the template's: other values reuse the same upload.
    let small = s.render(&[
        p.to_str().unwrap(),
        "--variables",
        r#"{"title":"b"}"#,
        "--render-id",
        "r-small",
    ]);
    assert!(
        text(&small).contains("cannot start the render"),
        "{}",
        text(&small)
    );
    let sites: Vec<String> = s
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("sites/"))
        .collect();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert!(
        !s.keys().iter().any(|k| k.starts_with("renders/r-small/")),
        "small values need no object"
    );
}
