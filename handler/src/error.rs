//! The handler's error: always one of the contract's names, so Step
//! Functions' Retry routing sees exactly what `infra::contract` promised.

use std::fmt;

use hyperframes_infra::contract::ErrorName;
use hyperframes_producer::ProducerError;

/// A failed invocation. `name` becomes the Lambda `errorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    pub name: ErrorName,
    pub message: String,
}

impl HandlerError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        HandlerError {
            name,
            message: message.into(),
        }
    }

    pub fn invalid_event(message: impl Into<String>) -> Self {
        HandlerError::new(ErrorName::InvalidEvent, message)
    }

    pub fn protocol(message: impl Into<String>) -> Self {
        HandlerError::new(ErrorName::PlanProtocolUnsupported, message)
    }

    pub fn render(message: impl Into<String>) -> Self {
        HandlerError::new(ErrorName::RenderFailed, message)
    }

    pub fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        // Out of space or a killed process may not recur on another worker.
        HandlerError::render(format!("{what} {}: {e}", path.display()))
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for HandlerError {}

/// A producer error reaches Step Functions under its contract name
/// ([`ProducerError::contract_name`], exhaustive); the message keeps the
/// producer's finer code in front.
impl From<ProducerError> for HandlerError {
    fn from(e: ProducerError) -> Self {
        HandlerError::new(e.contract_name(), format!("{}: {e}", e.name()))
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name.as_str().to_string(),
            error_message: e.message,
        }
    }
}
