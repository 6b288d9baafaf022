//! moto, as the local stack runs it: it must outlive the thread that
//! started it (the tests hold their stack in a static and start it from
//! whichever test comes first) and end when stopped.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use hyperframes_local::moto::Moto;

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn moto_outlives_the_thread_that_started_it_and_ends_when_stopped() {
    let exe = crate::support::tools().moto_server().unwrap();
    let logs = crate::support::scratch("moto");
    // Started on a thread that ends right after.
    let mut moto = std::thread::spawn(move || Moto::launch(&exe, &logs, 0).unwrap())
        .join()
        .unwrap();
    let port = port_of(&moto.endpoint);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        answers(port),
        "moto stopped answering on {} once the thread that started it ended",
        moto.endpoint
    );
    moto.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while answers(port) {
        assert!(Instant::now() < deadline, "moto still answers after stop()");
        std::thread::sleep(Duration::from_millis(50));
    }
}
