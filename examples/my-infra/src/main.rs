//! `cargo run -p my-infra > template.json`

use std::process::ExitCode;

fn main() -> ExitCode {
    match my_infra::build().synth() {
        Ok(template) => {
            print!("{}", template.to_json_pretty());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("my-infra: {problems}");
            ExitCode::FAILURE
        }
    }
}
