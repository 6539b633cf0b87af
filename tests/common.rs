//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `audience` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_audience"))
}

/// Runs `audience` with `args` against `store`, returning the output.
pub fn run(store: &Path, args: &[&str]) -> Output {
    bin().arg("--store").arg(store).args(args).output().expect("runs audience")
}

/// Runs and asserts success, returning stdout.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let out = run(store, args);
    assert!(
        out.status.success(),
        "audience {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and asserts exit code 2, returning stderr.
pub fn fails(store: &Path, args: &[&str]) -> String {
    let out = run(store, args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "audience {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// `../shared/data/NAME` when present; otherwise prints why the test is skipped and gives None.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is absent (the shared data sets are not here)", p.display());
        None
    }
}
