//! The Lambda entry point (`provided.al2023`, handler `bootstrap`).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hyperframes_handler::logging::init();
    let handler = match hyperframes_handler::from_env().await {
        Ok(h) => h,
        Err(msg) => {
            lambda_runtime::tracing::error!(event = "init-failed", "bootstrap: {msg}");
            std::process::exit(1);
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.handle(event.payload).await }
    }))
    .await
}
