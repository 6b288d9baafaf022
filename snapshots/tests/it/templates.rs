//! Whole-template snapshots: any change to what `synth` emits shows up as a
//! reviewable diff (`cargo insta review`). The state machine definition is
//! also snapshotted alone, so a workflow change reads as an ASL diff.

use hyperframes_infra::HyperframesRenderStack;
use hyperframes_snapshots::variants;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../../templates");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn every_variant_matches_its_snapshot() {
    for (name, props) in variants() {
        let t = HyperframesRenderStack::new(props)
            .synth()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        settings().bind(|| insta::assert_json_snapshot!(name, t.as_json()));
    }
}

#[test]
fn state_machine_definition_matches_its_snapshot() {
    let t = HyperframesRenderStack::default().synth().unwrap();
    let d = t
        .definition("RenderStateMachine")
        .expect("definition")
        .clone();
    settings().bind(|| insta::assert_json_snapshot!("definition", d));
}

#[test]
fn same_props_give_byte_identical_templates() {
    for (name, props) in variants() {
        let a = HyperframesRenderStack::new(props.clone()).synth().unwrap();
        let b = HyperframesRenderStack::new(props).synth().unwrap();
        assert_eq!(
            a.to_json_pretty(),
            b.to_json_pretty(),
            "{name} JSON differs"
        );
        assert_eq!(a.to_yaml(), b.to_yaml(), "{name} YAML differs");
    }
}
