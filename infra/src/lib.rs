//! HyperFrames' distributed render stack as typed Rust: a CloudFormation
//! model ([`Template`], [`Value`], typed resources), an Amazon States
//! Language model ([`asl`]), the function/state-machine [`contract`], and
//! the [`HyperframesRenderStack`] construct that puts them together.
//!
//! ```
//! use hyperframes_infra::{HyperframesRenderStack, RenderStackProps};
//! let stack = HyperframesRenderStack::new(RenderStackProps::default());
//! let template = stack.synth().expect("the default stack validates");
//! assert!(template.to_json_pretty().contains("\"RenderStateMachine\""));
//! ```

#![warn(missing_docs)]

pub mod asl;
pub mod contract;
pub mod handle;
mod intern;
pub mod props;
pub mod resource;
pub mod resources;
pub mod stack;
pub mod synth;
pub mod template;
pub mod validate;
pub mod value;
mod workflow;

pub use handle::Handle;
pub use props::{
    BucketEncryptionProps, ChromeSource, HandlerCode, KmsKey, Knobs, LambdaMemory, LambdaTimeout,
    PropsError, RenderStackProps, ReservedConcurrency,
};
pub use resource::{AnyResource, RemovalPolicy, Resource, ResourceType, Tag};
pub use stack::HyperframesRenderStack;
pub use synth::{Problem, Synthesized, ValidationErrors};
pub use template::{Condition, Output, Parameter, Stack, Template};
pub use value::{ConditionName, Number, Param, Pseudo, Value};
