//! Every error the handler can raise, checked against the contract: its
//! name is a contract name, deterministic failures are in their stage's
//! non-retryable list, and the name reaches Lambda as the `errorType`.

use hyperframes_handler::HandlerError;
use hyperframes_infra::contract::{Action, ErrorName};
use hyperframes_producer::ProducerError;

/// One value of every producer error variant. The match below fails to
/// compile when a variant is added, so this list cannot fall behind.
fn every_producer_error() -> Vec<ProducerError> {
    let s = || "x".to_string();
    let all = vec![
        ProducerError::InvalidConfig {
            field: s(),
            message: s(),
        },
        ProducerError::InvalidComposition {
            file: "index.html".into(),
            message: s(),
        },
        ProducerError::FormatNotSupported(s()),
        ProducerError::FontFetchFailed(s()),
        ProducerError::AssetFetchFailed(s()),
        ProducerError::PlanTooLarge(s()),
        ProducerError::PlanHashMismatch(s()),
        ProducerError::FfmpegVersionMismatch(s()),
        ProducerError::PlanV2Integrity(s()),
        ProducerError::ArtifactDigestMismatch(s()),
        ProducerError::BrowserGpuNotSoftware(s()),
        ProducerError::ChromeBinaryUnavailable(s()),
        ProducerError::VideoSourceUnrenderable(s()),
        ProducerError::InvalidVideoMetadata(s()),
        ProducerError::NotMediaPayload(s()),
        ProducerError::MissingPlanArtifact(s()),
        ProducerError::ChunkIndexOutOfRange(s()),
        ProducerError::ChunkMissing(s()),
        ProducerError::ChunkOutOfOrder(s()),
        ProducerError::ToolUnavailable(s()),
        ProducerError::Timeout(s()),
        ProducerError::RenderFailed(s()),
        ProducerError::BeginFrameFailed(s()),
        ProducerError::EncodeFailed(s()),
        ProducerError::AssembleFailed(s()),
        ProducerError::Io {
            path: "/tmp/x".into(),
            source: std::io::Error::other("disk full"),
        },
    ];
    for e in &all {
        match e {
            ProducerError::InvalidConfig { .. }
            | ProducerError::InvalidComposition { .. }
            | ProducerError::FormatNotSupported(_)
            | ProducerError::FontFetchFailed(_)
            | ProducerError::AssetFetchFailed(_)
            | ProducerError::PlanTooLarge(_)
            | ProducerError::PlanHashMismatch(_)
            | ProducerError::FfmpegVersionMismatch(_)
            | ProducerError::PlanV2Integrity(_)
            | ProducerError::ArtifactDigestMismatch(_)
            | ProducerError::BrowserGpuNotSoftware(_)
            | ProducerError::ChromeBinaryUnavailable(_)
            | ProducerError::VideoSourceUnrenderable(_)
            | ProducerError::InvalidVideoMetadata(_)
            | ProducerError::NotMediaPayload(_)
            | ProducerError::MissingPlanArtifact(_)
            | ProducerError::ChunkIndexOutOfRange(_)
            | ProducerError::ChunkMissing(_)
            | ProducerError::ChunkOutOfOrder(_)
            | ProducerError::ToolUnavailable(_)
            | ProducerError::Timeout(_)
            | ProducerError::RenderFailed(_)
            | ProducerError::BeginFrameFailed(_)
            | ProducerError::EncodeFailed(_)
            | ProducerError::AssembleFailed(_)
            | ProducerError::Io { .. } => {}
        }
    }
    all
}

#[test]
fn producer_names_that_are_contract_names_are_kept_verbatim() {
    for e in every_producer_error() {
        let producer_name = e.name();
        let h = HandlerError::from(e);
        if let Ok(contract) = producer_name.parse::<ErrorName>() {
            assert_eq!(
                h.name, contract,
                "{producer_name} must reach Step Functions under its own name"
            );
        }
        assert!(h.message.starts_with(producer_name), "{h}");
    }
}

#[test]
fn deterministic_failures_are_not_retried_where_they_occur() {
    // (producer error, the stages it can occur in): each must be in those
    // stages' non-retryable lists, or retries burn Lambda time for nothing.
    let deterministic = [
        (
            ProducerError::InvalidConfig {
                field: "fps".into(),
                message: "x".into(),
            },
            vec![Action::Plan],
        ),
        (
            ProducerError::InvalidComposition {
                file: "index.html".into(),
                message: "x".into(),
            },
            vec![Action::Plan, Action::RenderChunk],
        ),
        (
            ProducerError::FormatNotSupported("x".into()),
            vec![Action::Plan, Action::Assemble],
        ),
        (
            ProducerError::FontFetchFailed("x".into()),
            vec![Action::Plan],
        ),
        (
            ProducerError::PlanTooLarge("x".into()),
            vec![Action::Plan, Action::RenderChunk, Action::Assemble],
        ),
        (
            ProducerError::PlanHashMismatch("x".into()),
            vec![Action::RenderChunk, Action::Assemble],
        ),
        (
            ProducerError::FfmpegVersionMismatch("x".into()),
            vec![Action::RenderChunk, Action::Assemble],
        ),
        (
            ProducerError::PlanV2Integrity("x".into()),
            vec![Action::RenderChunk, Action::Assemble],
        ),
        (
            ProducerError::ArtifactDigestMismatch("x".into()),
            vec![Action::Assemble],
        ),
        (
            ProducerError::BrowserGpuNotSoftware("x".into()),
            vec![Action::Plan, Action::RenderChunk],
        ),
        (
            ProducerError::ChromeBinaryUnavailable("x".into()),
            vec![Action::RenderChunk],
        ),
        (
            ProducerError::ChunkIndexOutOfRange("x".into()),
            vec![Action::RenderChunk],
        ),
        (
            ProducerError::ChunkMissing("x".into()),
            vec![Action::Assemble],
        ),
        (
            ProducerError::ChunkOutOfOrder("x".into()),
            vec![Action::Assemble],
        ),
        (
            ProducerError::MissingPlanArtifact("x".into()),
            vec![Action::RenderChunk, Action::Assemble],
        ),
        // A package without its ffmpeg: a deployment defect, in every stage.
        (
            ProducerError::ToolUnavailable("x".into()),
            vec![Action::Plan, Action::RenderChunk, Action::Assemble],
        ),
    ];
    for (e, stages) in deterministic {
        let h = HandlerError::from(e);
        for stage in stages {
            assert!(
                h.name.is_non_retryable_in(stage),
                "{} would be retried in {stage}",
                h.name
            );
        }
    }
    // Transient failures stay retryable everywhere.
    for e in [
        ProducerError::Timeout("x".into()),
        ProducerError::RenderFailed("x".into()),
        ProducerError::EncodeFailed("x".into()),
    ] {
        let h = HandlerError::from(e);
        for stage in Action::ALL {
            assert!(
                !h.name.is_non_retryable_in(stage),
                "{} must be retried in {stage}",
                h.name
            );
        }
    }
}

#[test]
fn the_name_is_the_lambda_error_type() {
    for e in every_producer_error() {
        let h = HandlerError::from(e);
        let d = lambda_runtime::Diagnostic::from(h.clone());
        assert_eq!(d.error_type, h.name.as_str());
        assert_eq!(d.error_message, h.message);
        assert_eq!(d.error_type.parse::<ErrorName>().unwrap(), h.name);
    }
}
