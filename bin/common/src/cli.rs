//! The shared `main` of the AWS programs: one tokio runtime, errors printed
//! as `<program>: <message>` with exit status 1, never a panic or a backtrace.

use std::future::Future;
use std::process::ExitCode;

pub fn run<T>(program: &str, fut: impl Future<Output = anyhow::Result<T>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(fut) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            ExitCode::from(1)
        }
    }
}
