//! The events the state machine sends, parsed into types whose shape is
//! already valid: a renderChunk event either has a v1 or a v2 plan
//! location, never both, never neither. Every check here runs before any
//! I/O, so a malformed event costs nothing and is never retried.

use serde_json::{Map, Value};

use hyperframes_infra::contract::{field, Action, PlanProtocol};
use hyperframes_producer::RenderConfig;

use crate::error::HandlerError;
use crate::s3uri::S3Uri;

/// How deep `Payload`/`Input` envelopes are searched for the event.
pub const MAX_ENVELOPE_DEPTH: usize = 4;

/// Output formats a distributed render produces.
pub use hyperframes_producer::Format;

/// Where the plan lives, per protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanLocation {
    V1 {
        plan: S3Uri,
    },
    V2 {
        manifest: S3Uri,
        artifact_prefix: S3Uri,
    },
}

impl PlanLocation {
    pub fn protocol(&self) -> PlanProtocol {
        match self {
            PlanLocation::V1 { .. } => PlanProtocol::V1,
            PlanLocation::V2 { .. } => PlanProtocol::V2,
        }
    }

    fn uris(&self) -> Vec<(&'static str, &S3Uri)> {
        match self {
            PlanLocation::V1 { plan } => vec![(field::PLAN_S3_URI, plan)],
            PlanLocation::V2 {
                manifest,
                artifact_prefix,
            } => vec![
                (field::PLAN_V2_MANIFEST_S3_URI, manifest),
                (field::PLAN_V2_ARTIFACT_S3_PREFIX, artifact_prefix),
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanEvent {
    pub protocol: PlanProtocol,
    pub project: S3Uri,
    pub output_prefix: S3Uri,
    /// The render's settings, parsed and validated with the producer's
    /// rules when the event is (unknown fields refused by name).
    pub config: RenderConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChunkEvent {
    pub location: PlanLocation,
    pub plan_hash: String,
    pub index: u32,
    pub output_prefix: S3Uri,
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssembleEvent {
    pub location: PlanLocation,
    /// Required for v2; v1 plans are checked by the producer's own hash.
    pub plan_hash: Option<String>,
    pub chunks: Vec<S3Uri>,
    /// v1 only; v2 plans carry audio in the manifest.
    pub audio: Option<S3Uri>,
    pub output: S3Uri,
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Plan(PlanEvent),
    RenderChunk(ChunkEvent),
    Assemble(AssembleEvent),
}

impl Event {
    pub fn action(&self) -> Action {
        match self {
            Event::Plan(_) => Action::Plan,
            Event::RenderChunk(_) => Action::RenderChunk,
            Event::Assemble(_) => Action::Assemble,
        }
    }

    /// Every S3 location the event touches, with the field it came from.
    pub fn uris(&self) -> Vec<(&'static str, &S3Uri)> {
        match self {
            Event::Plan(e) => vec![
                (field::PROJECT_S3_URI, &e.project),
                (field::PLAN_OUTPUT_S3_PREFIX, &e.output_prefix),
            ],
            Event::RenderChunk(e) => {
                let mut v = e.location.uris();
                v.push((field::CHUNK_OUTPUT_S3_PREFIX, &e.output_prefix));
                v
            }
            Event::Assemble(e) => {
                let mut v = e.location.uris();
                v.extend(e.chunks.iter().map(|c| (field::CHUNK_S3_URIS, c)));
                v.extend(e.audio.iter().map(|a| (field::AUDIO_S3_URI, a)));
                v.push((field::OUTPUT_S3_URI, &e.output));
                v
            }
        }
    }

    /// Parses a raw invocation payload: bare, or wrapped in `Payload` /
    /// `Input` envelopes (what `lambda:invoke` and manual tests produce).
    pub fn parse(raw: &Value) -> Result<Event, HandlerError> {
        let event = unwrap(raw)?;
        let action = event
            .get(field::ACTION)
            .and_then(Value::as_str)
            .expect("unwrap returns objects with an Action")
            .parse::<Action>()
            .expect("unwrap checks the action");
        refuse_unknown_fields(event, action)?;
        let protocol = protocol(event)?;
        match action {
            Action::Plan => plan_event(event, protocol).map(Event::Plan),
            Action::RenderChunk => chunk_event(event, protocol).map(Event::RenderChunk),
            Action::Assemble => assemble_event(event, protocol).map(Event::Assemble),
        }
    }
}

fn plan_event(
    event: &Map<String, Value>,
    protocol: Option<PlanProtocol>,
) -> Result<PlanEvent, HandlerError> {
    Ok(PlanEvent {
        protocol: protocol.unwrap_or(PlanProtocol::DEFAULT),
        project: uri(event, field::PROJECT_S3_URI)?,
        output_prefix: uri(event, field::PLAN_OUTPUT_S3_PREFIX)?,
        config: match event.get(field::CONFIG) {
            Some(c @ Value::Object(_)) => RenderConfig::from_json(c)?,
            Some(_) => return Err(HandlerError::invalid_event("Config: must be a JSON object")),
            None => return Err(missing(field::CONFIG)),
        },
    })
}

fn chunk_event(
    event: &Map<String, Value>,
    protocol: Option<PlanProtocol>,
) -> Result<ChunkEvent, HandlerError> {
    let location = location(event, protocol)?;
    let index = match event.get(field::CHUNK_INDEX) {
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                HandlerError::invalid_event(format!(
                    "ChunkIndex: {v} is not a chunk index (an integer >= 0)"
                ))
            })?,
        None => return Err(missing(field::CHUNK_INDEX)),
    };
    Ok(ChunkEvent {
        location,
        plan_hash: plan_hash(event)?,
        index,
        output_prefix: uri(event, field::CHUNK_OUTPUT_S3_PREFIX)?,
        format: format(event)?,
    })
}

fn assemble_event(
    event: &Map<String, Value>,
    protocol: Option<PlanProtocol>,
) -> Result<AssembleEvent, HandlerError> {
    let location = location(event, protocol)?;
    let audio = audio(event, location.protocol())?;
    let chunks = chunk_uris(event)?;
    let plan_hash = match location.protocol() {
        PlanProtocol::V2 => Some(plan_hash(event)?),
        PlanProtocol::V1 => event
            .get(field::PLAN_HASH)
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    Ok(AssembleEvent {
        location,
        plan_hash,
        chunks,
        audio,
        output: uri(event, field::OUTPUT_S3_URI)?,
        format: format(event)?,
    })
}

/// A v1 assemble names its audio (or null); a v2 one never does, since
/// the manifest carries it.
fn audio(
    event: &Map<String, Value>,
    protocol: PlanProtocol,
) -> Result<Option<S3Uri>, HandlerError> {
    if protocol == PlanProtocol::V1 && !event.contains_key(field::AUDIO_S3_URI) {
        return Err(HandlerError::invalid_event(
            "AudioS3Uri: required for a v1 assemble (the plan's AudioS3Uri, or null when it has no audio)",
        ));
    }
    let audio = match event.get(field::AUDIO_S3_URI) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(S3Uri::parse(field::AUDIO_S3_URI, s)?),
        Some(v) => {
            return Err(HandlerError::invalid_event(format!(
                "AudioS3Uri: {v} is neither a string nor null"
            )))
        }
    };
    if audio.is_some() && protocol == PlanProtocol::V2 {
        return Err(HandlerError::protocol(
            "AudioS3Uri must be null for a v2 assemble: v2 plans carry their audio in the manifest",
        ));
    }
    Ok(audio)
}

fn chunk_uris(event: &Map<String, Value>) -> Result<Vec<S3Uri>, HandlerError> {
    match event.get(field::CHUNK_S3_URIS) {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                Some(s) => S3Uri::parse(&format!("ChunkS3Uris[{i}]"), s),
                None => Err(HandlerError::invalid_event(format!(
                    "ChunkS3Uris[{i}]: {v} is not a string"
                ))),
            })
            .collect(),
        Some(Value::Array(_)) => Err(HandlerError::invalid_event(
            "ChunkS3Uris: empty; assemble needs at least one chunk",
        )),
        Some(v) => Err(HandlerError::invalid_event(format!(
            "ChunkS3Uris: {v} is not a list"
        ))),
        None => Err(missing(field::CHUNK_S3_URIS)),
    }
}

/// The fields each action's event may carry besides `Action` and
/// `PlanProtocol` (what the state machine's Task payloads send,
/// `infra::workflow`); the later stages also take a plan location.
fn allowed_fields(action: Action) -> (&'static [&'static str], bool) {
    match action {
        Action::Plan => (
            &[
                field::PROJECT_S3_URI,
                field::PLAN_OUTPUT_S3_PREFIX,
                field::CONFIG,
            ],
            false,
        ),
        Action::RenderChunk => (
            &[
                field::PLAN_HASH,
                field::CHUNK_INDEX,
                field::CHUNK_OUTPUT_S3_PREFIX,
                field::FORMAT,
            ],
            true,
        ),
        Action::Assemble => (
            &[
                field::PLAN_HASH,
                field::CHUNK_S3_URIS,
                field::AUDIO_S3_URI,
                field::OUTPUT_S3_URI,
                field::FORMAT,
            ],
            true,
        ),
    }
}

/// A field the action does not read is refused by name (all of them at
/// once): a misspelled one would otherwise be silently ignored.
fn refuse_unknown_fields(event: &Map<String, Value>, action: Action) -> Result<(), HandlerError> {
    const ALWAYS: [&str; 2] = [field::ACTION, field::PLAN_PROTOCOL];
    const LOCATION: [&str; 3] = [
        field::PLAN_S3_URI,
        field::PLAN_V2_MANIFEST_S3_URI,
        field::PLAN_V2_ARTIFACT_S3_PREFIX,
    ];
    let (own, located) = allowed_fields(action);
    let mut allowed: Vec<&str> = ALWAYS.to_vec();
    if located {
        allowed.extend(LOCATION);
    }
    allowed.extend(own);
    let unknown: Vec<&str> = event
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(HandlerError::invalid_event(format!(
        "{}: not a field of a {} event (it takes {})",
        unknown.join(", "),
        action.as_str(),
        allowed.join(", ")
    )))
}

fn missing(name: &str) -> HandlerError {
    HandlerError::invalid_event(format!("{name}: required field is missing"))
}

/// Finds the event inside up to [`MAX_ENVELOPE_DEPTH`] envelopes.
fn unwrap(raw: &Value) -> Result<&Map<String, Value>, HandlerError> {
    let mut cur = raw;
    for _ in 0..=MAX_ENVELOPE_DEPTH {
        let Some(obj) = cur.as_object() else { break };
        if let Some(action) = obj.get(field::ACTION).and_then(Value::as_str) {
            return match action.parse::<Action>() {
                Ok(_) => Ok(obj),
                Err(msg) => Err(HandlerError::protocol(msg)),
            };
        }
        match obj.get("Payload").or_else(|| obj.get("Input")) {
            Some(inner) => cur = inner,
            None => break,
        }
    }
    Err(HandlerError::protocol(format!(
        "the event has no Action (plan, renderChunk or assemble), also inside up to {MAX_ENVELOPE_DEPTH} Payload/Input envelopes"
    )))
}

fn protocol(event: &Map<String, Value>) -> Result<Option<PlanProtocol>, HandlerError> {
    match event.get(field::PLAN_PROTOCOL) {
        None => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(HandlerError::protocol),
        Some(v) => Err(HandlerError::protocol(format!(
            "PlanProtocol: {v} is not a string; use \"v1\", \"v2\" or leave it out (v2)"
        ))),
    }
}

fn uri(event: &Map<String, Value>, name: &str) -> Result<S3Uri, HandlerError> {
    match event.get(name) {
        Some(Value::String(s)) => S3Uri::parse(name, s),
        Some(v) => Err(HandlerError::invalid_event(format!(
            "{name}: {v} is not a string"
        ))),
        None => Err(missing(name)),
    }
}

fn plan_hash(event: &Map<String, Value>) -> Result<String, HandlerError> {
    match event.get(field::PLAN_HASH).and_then(Value::as_str) {
        Some(h)
            if h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) =>
        {
            Ok(h.to_string())
        }
        Some(h) => Err(HandlerError::invalid_event(format!(
            "PlanHash: `{h}` is not a lowercase 64-hex SHA-256"
        ))),
        None => Err(missing(field::PLAN_HASH)),
    }
}

fn format(event: &Map<String, Value>) -> Result<Format, HandlerError> {
    let s = event
        .get(field::FORMAT)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(field::FORMAT))?;
    match s {
        "mp4" | "mov" | "webm" | "png-sequence" => Ok(Format::parse(s).expect("known format")),
        other => Err(HandlerError::invalid_event(format!(
            "Format: `{other}` is not a distributed format; use mp4, mov, webm or png-sequence"
        ))),
    }
}

/// The plan location for the protocol, refusing mixed or missing locators.
fn location(
    event: &Map<String, Value>,
    protocol: Option<PlanProtocol>,
) -> Result<PlanLocation, HandlerError> {
    let has = |k: &str| event.contains_key(k);
    let v1 = has(field::PLAN_S3_URI);
    let (manifest, prefix) = (
        has(field::PLAN_V2_MANIFEST_S3_URI),
        has(field::PLAN_V2_ARTIFACT_S3_PREFIX),
    );
    match protocol.unwrap_or(PlanProtocol::DEFAULT) {
        PlanProtocol::V1 if v1 && !manifest && !prefix => Ok(PlanLocation::V1 {
            plan: uri(event, field::PLAN_S3_URI)?,
        }),
        PlanProtocol::V2 if manifest && prefix && !v1 => Ok(PlanLocation::V2 {
            manifest: uri(event, field::PLAN_V2_MANIFEST_S3_URI)?,
            artifact_prefix: uri(event, field::PLAN_V2_ARTIFACT_S3_PREFIX)?,
        }),
        p => Err(HandlerError::protocol(format!(
            "the event has mixed or missing plan locators for PlanProtocol {}: v1 needs PlanS3Uri only, v2 needs PlanV2ManifestS3Uri and PlanV2ArtifactS3Prefix only",
            p.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperframes_infra::contract::ErrorName;
    use serde_json::json;

    fn chunk_v2() -> Value {
        json!({
            "Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": 3,
            "PlanV2ManifestS3Uri": "s3://b/renders/r/v2/manifest.json",
            "PlanV2ArtifactS3Prefix": "s3://b/renders/r/v2/artifacts/sha256",
            "PlanHash": "a".repeat(64), "ChunkOutputS3Prefix": "s3://b/renders/r/", "Format": "mp4"
        })
    }

    #[test]
    fn envelopes_are_unwrapped() {
        let e = Event::parse(&json!({"Payload": {"Input": chunk_v2()}})).unwrap();
        let Event::RenderChunk(c) = e else { panic!() };
        assert_eq!(c.index, 3);
        assert_eq!(c.location.protocol(), PlanProtocol::V2);
    }

    #[test]
    fn absent_protocol_means_v2() {
        let mut e = chunk_v2();
        e.as_object_mut().unwrap().remove("PlanProtocol");
        assert!(matches!(Event::parse(&e).unwrap(), Event::RenderChunk(_)));
    }

    #[test]
    fn protocol_errors() {
        for (patch, needle) in [
            (json!({"PlanProtocol": "v3"}), "unknown PlanProtocol"),
            (json!({"PlanProtocol": 2}), "not a string"),
            (
                json!({"PlanS3Uri": "s3://b/renders/r/plan.tar.gz"}),
                "mixed or missing",
            ),
            (json!({"PlanProtocol": "v1"}), "mixed or missing"),
            (json!({"Action": "doSomething"}), "unknown Action"),
        ] {
            let mut e = chunk_v2();
            for (k, v) in patch.as_object().unwrap() {
                e[k] = v.clone();
            }
            let err = Event::parse(&e).unwrap_err();
            assert_eq!(err.name, ErrorName::PlanProtocolUnsupported, "{patch}");
            assert!(err.message.contains(needle), "{err}");
        }
        let err = Event::parse(&json!({"Payload": {"nothing": 1}})).unwrap_err();
        assert_eq!(err.name, ErrorName::PlanProtocolUnsupported);
        let mut half = chunk_v2();
        half.as_object_mut()
            .unwrap()
            .remove("PlanV2ArtifactS3Prefix");
        let err = Event::parse(&half).unwrap_err();
        assert_eq!(err.name, ErrorName::PlanProtocolUnsupported, "{err}");
    }

    #[test]
    fn field_errors_name_the_field() {
        for (k, v, needle) in [
            ("ChunkIndex", json!(-1), "ChunkIndex"),
            ("PlanHash", json!("xyz"), "PlanHash"),
            ("Format", json!("gif"), "Format"),
            (
                "ChunkOutputS3Prefix",
                json!("http://x"),
                "ChunkOutputS3Prefix",
            ),
        ] {
            let mut e = chunk_v2();
            e[k] = v;
            let err = Event::parse(&e).unwrap_err();
            assert_eq!(err.name, ErrorName::InvalidEvent);
            assert!(err.message.starts_with(needle), "{err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let mut e = chunk_v2();
        e["ChunkIndx"] = json!(3);
        e["Extra"] = json!(true);
        let err = Event::parse(&e).unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidEvent);
        assert!(err.message.starts_with("ChunkIndx, Extra: "), "{err}");
        let plan = json!({
            "Action": "plan", "ProjectS3Uri": "s3://b/sites/x/project.tar.gz",
            "PlanOutputS3Prefix": "s3://b/renders/r/",
            "Config": {"fps": 30, "format": "mp4", "qualty": "high"}
        });
        let err = Event::parse(&plan).unwrap_err();
        assert!(err.message.contains("qualty"), "{err}");
        let mut ok = plan.clone();
        ok["Config"] = json!({"fps": 30, "format": "mp4", "quality": "high"});
        let Event::Plan(p) = Event::parse(&ok).unwrap() else {
            panic!()
        };
        assert_eq!(p.config.quality, Some(hyperframes_producer::Quality::High));
    }

    #[test]
    fn v2_assemble_refuses_audio_uri() {
        let e = json!({
            "Action": "assemble", "PlanProtocol": "v2",
            "PlanV2ManifestS3Uri": "s3://b/r/v2/manifest.json", "PlanV2ArtifactS3Prefix": "s3://b/r/v2/artifacts/sha256",
            "PlanHash": "a".repeat(64), "ChunkS3Uris": ["s3://b/r/chunks/0000.mp4"],
            "AudioS3Uri": "s3://b/r/audio.m4a", "OutputS3Uri": "s3://b/out.mp4", "Format": "mp4"
        });
        assert_eq!(
            Event::parse(&e).unwrap_err().name,
            ErrorName::PlanProtocolUnsupported
        );
    }
}
