//! The serial scanner reader on a real pseudo-terminal: the test writes to the master side as a
//! scanner would, the reader opens the slave side by its path, as it would `/dev/ttyACM0`.

use std::io::Write;
use std::time::{Duration, Instant};

use gerbang_gate::serial::{SerialConfig, SerialEvent, SerialReader, SerialStatus};
use serialport::{SerialPort, TTYPort};
use tokio::sync::broadcast;

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn next_event(events: &mut broadcast::Receiver<SerialEvent>) -> SerialEvent {
    let mut got = None;
    wait_for("a serial event", || {
        got = events.try_recv().ok();
        got.is_some()
    });
    got.unwrap()
}

fn wait_status(reader: &SerialReader, what: &str, matches: impl Fn(&SerialStatus) -> bool) {
    let status = reader.status();
    wait_for(what, || matches(&status.borrow()));
}

fn code(text: &str) -> SerialEvent {
    SerialEvent::Code { text: text.into() }
}

fn config(port: &str) -> SerialConfig {
    SerialConfig {
        max_len: 64,
        // Long enough that the test's own writes, split in two, are never taken for a pause.
        pause: Duration::from_millis(500),
        retry_every: Duration::from_millis(20),
        ..SerialConfig::new(port)
    }
}

#[test]
fn codes_from_a_serial_scanner_are_read_whatever_ends_them() {
    let (mut scanner, slave) = TTYPort::pair().unwrap();
    let port = slave.name().unwrap();
    let reader = SerialReader::start(config(&port)).unwrap();
    let mut events = reader.events();
    wait_status(&reader, "reading", |s| {
        matches!(s, SerialStatus::Reading { .. })
    });

    scanner.write_all(b"T-100\r\nT-101\rT-1").unwrap();
    scanner.write_all(b"02\n").unwrap();
    assert_eq!(next_event(&mut events), code("T-100"));
    assert_eq!(next_event(&mut events), code("T-101"));
    assert_eq!(next_event(&mut events), code("T-102"));
    // No terminator: the pause after the code ends it.
    scanner.write_all(b"GB:W500").unwrap();
    assert_eq!(next_event(&mut events), code("GB:W500"));
    // An over-long line is an error event, and the next code reads fine.
    scanner.write_all(&[b'x'; 200]).unwrap();
    scanner.write_all(b"\nT-103\n").unwrap();
    assert_eq!(
        next_event(&mut events),
        SerialEvent::TooLong { len: 200, max: 64 }
    );
    assert_eq!(next_event(&mut events), code("T-103"));

    let status = reader.status();
    reader.stop();
    assert_eq!(*status.borrow(), SerialStatus::Stopped);
    drop(slave);
}

#[test]
fn an_unplugged_scanner_is_reported_and_looked_for_again() {
    let (scanner, slave) = TTYPort::pair().unwrap();
    let port = slave.name().unwrap();
    let reader = SerialReader::start(config(&port)).unwrap();
    wait_status(&reader, "reading", |s| {
        matches!(s, SerialStatus::Reading { .. })
    });
    // Unplugged: both ends of the pseudo-terminal go, and with them its device file.
    drop(scanner);
    drop(slave);
    wait_status(&reader, "missing", |s| {
        matches!(s, SerialStatus::Missing { message } if message.contains("is not there")
            || message.contains("went away"))
    });
    reader.stop();

    let reader = SerialReader::start(config("/dev/gerbang-no-such-port")).unwrap();
    let status = reader.status();
    wait_for("missing", || {
        *status.borrow()
            == SerialStatus::Missing {
                message: "The scanner's port /dev/gerbang-no-such-port is not there. Plug the \
                          scanner in (in serial mode); the gate keeps looking."
                    .into(),
            }
    });
    reader.stop();
}
