//! cfn-lint on every synthesized variant, JSON and YAML: 0 errors,
//! 0 warnings, 0 informational findings.

use hyperframes_infra::HyperframesRenderStack;
use hyperframes_snapshots::{lint_all, variants, Scratch};

#[test]
fn every_variant_is_clean() {
    let dir = Scratch::new("cfn-lint");
    let mut paths = Vec::new();
    for (name, props) in variants() {
        let t = HyperframesRenderStack::new(props).synth().unwrap();
        for (ext, text) in [("json", t.to_json_pretty()), ("yaml", t.to_yaml())] {
            let path = dir.path(&format!("{name}.{ext}"));
            std::fs::write(&path, text).unwrap();
            paths.push(path);
        }
    }
    let (code, report) = lint_all(&paths);
    assert_eq!(code, 0, "cfn-lint found problems:\n{report}");
    assert!(report.trim().is_empty(), "{report}");
}

#[test]
fn cfn_lint_checks_the_state_machine_definition() {
    // The definition is emitted so cfn-lint validates it (E3601); a typo in
    // a state type must be reported, also among clean templates in one run.
    let dir = Scratch::new("cfn-lint-broken");
    let clean = HyperframesRenderStack::default().synth().unwrap();
    let clean_path = dir.path("clean.json");
    std::fs::write(&clean_path, clean.to_json_pretty()).unwrap();
    let mut t = clean.into_json();
    t["Resources"]["RenderStateMachine"]["Properties"]["Definition"]["States"]["BuildChunkList"]
        ["Type"] = "Passs".into();
    let path = dir.path("broken.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&t).unwrap()).unwrap();
    let (code, report) = lint_all(&[clean_path, path]);
    assert_ne!(code, 0);
    assert!(report.contains("E3601"), "{report}");
    assert!(report.contains("broken.json"), "{report}");
    assert!(!report.contains("clean.json"), "{report}");
}
