//! `render-bench`: capture and encode throughput of the producer (see producer::bench).
fn main() {
    eprintln!("render-bench: not implemented yet");
}
