//! cfn-lint on every synthesized variant, JSON and YAML: 0 errors,
//! 0 warnings, 0 informational findings.

use hyperframes_infra::HyperframesRenderStack;
use hyperframes_snapshots::{lint, variants, Scratch};

#[test]
fn every_variant_is_clean() {
    let dir = Scratch::new("cfn-lint");
    for (name, props) in variants() {
        let t = HyperframesRenderStack::new(props).synth().unwrap();
        for (ext, text) in [("json", t.to_json_pretty()), ("yaml", t.to_yaml())] {
            let path = dir.path(&format!("{name}.{ext}"));
            std::fs::write(&path, text).unwrap();
            let (code, report) = lint(&path);
            assert_eq!(
                code, 0,
                "cfn-lint found problems in {name}.{ext}:\n{report}"
            );
            assert!(report.trim().is_empty(), "{name}.{ext}: {report}");
        }
    }
}

#[test]
fn cfn_lint_checks_the_state_machine_definition() {
    // The definition is emitted so cfn-lint validates it (E3601); a typo in
    // a state type must be reported.
    let dir = Scratch::new("cfn-lint-broken");
    let mut t = HyperframesRenderStack::default()
        .synth()
        .unwrap()
        .into_json();
    t["Resources"]["RenderStateMachine"]["Properties"]["Definition"]["States"]["BuildChunkList"]
        ["Type"] = "Passs".into();
    let path = dir.path("broken.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&t).unwrap()).unwrap();
    let (code, report) = lint(&path);
    assert_ne!(code, 0);
    assert!(report.contains("E3601"), "{report}");
}
