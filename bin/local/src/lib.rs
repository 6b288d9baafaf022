//! An offline rehearsal of the render stack, as faithful to Lambda as this
//! machine allows: the handler package runs in a jail that holds only what
//! `provided.al2023` holds ([`rootfs`], [`jail`]), behind a local Lambda
//! service ([`lambda`]); the synthesized state machine runs in
//! aws-local-stepfunctions behind a local Step Functions API ([`sfn`]);
//! S3 is moto. The executions' status-change events go through a small
//! local event bus ([`events`]) to the template's notification targets.
//! [`stack`] brings them up together for `local-stack up`.

pub mod cgroup;
/// The test doubles' HTTP server loop and moto launcher, shared with the tests.
pub use hyperframes_testkit::{http, moto};
pub mod commands;
pub mod events;
pub mod jail;
pub mod lambda;
pub mod rootfs;
pub(crate) mod sfn;
pub mod stack;
pub(crate) mod template;
