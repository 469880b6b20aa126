//! The real binaries, for tests where a process must die (SIGKILL).
//!
//! Cargo builds a package's binaries only for that package's own tests, so `gerbang-relay` and
//! `gerbang-gate` are found next to this test's executable (`target/<profile>/`), and built
//! with the cargo that runs the tests if they are not there yet.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;

/// The path of one of the workspace's binaries, built if needed.
pub fn binary(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let path = dir.join(name);
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args([
            "build",
            "--package",
            "gerbang-relay",
            "--package",
            "gerbang-gate",
            "--bins",
        ]);
        if dir.file_name().is_some_and(|p| p == "release") {
            command.arg("--release");
        }
        let status = command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo to build the binaries");
        assert!(
            status.success(),
            "building gerbang-relay and gerbang-gate failed"
        );
    });
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A `gerbang-relay` process on a data directory, listening on 127.0.0.1 with a port from the
/// OS. Killed when dropped.
#[derive(Debug)]
pub struct RelayProcess {
    pub addr: SocketAddr,
    pub child: Child,
    /// The first pairing code it printed.
    pub pairing_code: String,
    /// The whole pairing text it printed (`gerbang://pair?...`).
    pub pairing_text: String,
    /// Its certificate's fingerprint, when it serves TLS.
    pub fingerprint: Option<String>,
}

impl RelayProcess {
    /// A relay serving plain ws/http (`--plain`, on loopback).
    pub fn start(data_dir: &Path) -> RelayProcess {
        RelayProcess::start_with(data_dir, &["--plain"])
    }

    /// A relay serving TLS, as it does by default.
    pub fn start_tls(data_dir: &Path) -> RelayProcess {
        RelayProcess::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, flags: &[&str]) -> RelayProcess {
        let mut child = Command::new(binary("gerbang-relay"))
            .args(flags)
            .args(["--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting gerbang-relay");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut pairing_text = String::new();
        // Blocking reads of a child that prints a few lines and then its address; if it dies
        // first, the pipe closes and the loop ends with a clear failure.
        let addr = loop {
            let line = lines
                .next()
                .expect("gerbang-relay exited before saying where it listens")
                .unwrap();
            if let Some(at) = line.find(gerbang_core::pairing::PAIRING_PREFIX) {
                pairing_text = line[at..].trim().to_owned();
            }
            if let Some(rest) = line.strip_prefix("Gerbang relay listening on ") {
                let rest = rest
                    .strip_prefix("wss://")
                    .or_else(|| rest.strip_prefix("ws://"))
                    .expect("a ws:// or wss:// address");
                break rest
                    .trim_end_matches(gerbang_core::protocol::WS_PATH)
                    .parse()
                    .unwrap();
            }
        };
        let link = gerbang_core::pairing::PairingLink::parse(&pairing_text)
            .expect("the relay printed a pairing text");
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        RelayProcess {
            addr,
            child,
            pairing_code: link.code,
            fingerprint: link.fingerprint,
            pairing_text,
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing the process can do about it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The admin token the relay wrote on its first start.
    pub fn admin_token(data_dir: &Path) -> String {
        std::fs::read_to_string(data_dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
