//! The Lambda entry point (`provided.al2023`, handler `bootstrap`).

use hyperframes_handler::init::{self, InitFailure};
use hyperframes_handler::{FunctionEnv, Host};
use lambda_runtime::{service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The function's environment, read once, here.
    let env = FunctionEnv::from_lookup(|k| std::env::var(k).ok());
    hyperframes_handler::logging::init(env.log_level.as_deref());
    let under_runtime_api = env.under_runtime_api;
    let handler = match hyperframes_handler::start(Host::Lambda, env).await {
        Ok(h) => h,
        Err(failure) => {
            tracing::error!(
                event = "init-failed",
                error_type = InitFailure::NAME.as_str(),
                "bootstrap: {failure}"
            );
            // Reported once, as the init error (`init::report` says why);
            // the process then ends, and Lambda discards the environment.
            if let Err(e) = init::report(&failure, under_runtime_api).await {
                tracing::error!(event = "init-error-unreported", "bootstrap: {e}");
            }
            std::process::exit(1);
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.handle(event.payload).await }
    }))
    .await
}
