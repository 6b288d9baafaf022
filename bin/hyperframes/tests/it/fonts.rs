//! `render` on this machine warns about text drawn with a host font,
//! naming the family and the element, and renders it.

use std::process::Command;

#[test]
fn a_local_render_warns_about_host_fonts_and_renders() {
    hyperframes_testkit::install_producer_settings();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        r#"<html><head><style>body{margin:0;background:#000;color:#fff}</style></head><body>
<div id="main" data-composition-id="main" data-width="160" data-height="90" data-duration="0.1" data-no-timeline>
<p id="note" style="font-family: 'Comic Neue', cursive">hi</p><p style="font-family: Arial">ok</p></div></body></html>"#,
    )
    .unwrap();
    let out = dir.path().join("out.mp4");
    let r = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .args(["render"])
        .arg(&project)
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{stderr}");
    assert!(out.is_file());
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "Arial is embedded (as Inter): {stderr}");
    for part in ["\"Comic Neue\"", "<p id=\"note\">", "--allow-host-fonts"] {
        assert!(warnings[0].contains(part), "{part} missing: {stderr}");
    }
}
