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
//!
//! Each concept has one place, and modules depend downwards only:
//!
//! - [`value`]: `Value<T>` (a literal or a typed intrinsic), parameters'
//!   references, pseudo parameters.
//! - [`handle`]: `Handle<T>`, a typed logical ID.
//! - [`synth`]: what synth returns, the template or every [`Problem`].
//! - [`validate`]: the template-level rules, and the [`validate::ResourceCheck`]
//!   each type's own rules run in.
//! - [`resource`]: the [`ResourceType`] trait, the stored [`AnyResource`],
//!   resource attributes.
//! - [`template`]: the [`Template`] and the [`Stack`] trait, the one way to
//!   build on any stack.
//! - [`resources`]: one module per service; each type's struct, its rules,
//!   and what its handle does (attributes, metrics, grants).
//! - [`asl`], [`contract`]: the workflow's language and the
//!   function/state-machine contract.
//! - [`stack`]: the render stack itself; [`notifications`] and
//!   [`hardening`] are its optional parts, [`transitions`] what its
//!   workflow costs in state transitions.

#![warn(missing_docs)]

pub mod asl;
pub mod contract;
pub mod handle;
pub mod hardening;
mod name;
pub mod notifications;
pub mod props;
pub mod resource;
pub mod resources;
pub mod stack;
pub mod synth;
pub mod template;
pub mod transitions;
pub mod validate;
pub mod value;
mod workflow;

pub use handle::Handle;
pub use name::Name;
pub use props::{
    BucketEncryptionProps, ChromeSource, HandlerCode, KmsKey, Knobs, LambdaMemory, LambdaTimeout,
    PropsError, RenderStackProps, ReservedConcurrency,
};
pub use resource::{AnyResource, RemovalPolicy, Resource, ResourceType, Tag};
pub use stack::HyperframesRenderStack;
pub use synth::{Problem, Synthesized, ValidationErrors};
pub use template::{Condition, Output, Parameter, Stack, Template};
pub use value::{ConditionName, Number, Param, Pseudo, Value};
