//! (internal) The jail's helper, for this package's tests: the local Lambda
//! service starts each instance as `<helper> jail-init <flags> -- <program>`.
//! Users run `hyperframes local-stack up`, whose helper is `hyperframes`.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "jail-init") {
        return hyperframes_local::jail::main(&argv[2..]);
    }
    eprintln!("jail-helper is the local stack's internal helper; run `hyperframes local-stack up`");
    ExitCode::from(2)
}
