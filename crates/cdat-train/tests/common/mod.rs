//! What the end-to-end tests of the `cdat-train` binary share: the binary, the flags of a small
//! fast run, running it, and checking its exit status and files. Each test file uses a part.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary, with `RUST_LOG` removed (its output is what the tests read).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cdat-train"));
    c.env_remove("RUST_LOG");
    c
}

/// The CPU backend and a small subset, without a model configuration (so that any model can be
/// chosen).
pub const BASE: &[&str] = &[
    "--backend",
    "ndarray",
    "--train-subset",
    "256",
    "--test-subset",
    "128",
    "--no-progress",
];

/// Small and fast: 256 training images, a 784-32-10 MLP, the CPU backend.
pub const FAST: &[&str] = &[
    "--backend",
    "ndarray",
    "--train-subset",
    "256",
    "--test-subset",
    "128",
    "--model-set",
    "hidden=[32]",
    "--no-progress",
];

/// [`FAST`] followed by `args`.
pub fn fast(args: &[&str]) -> Vec<String> {
    FAST.iter().chain(args).map(|s| s.to_string()).collect()
}

/// Runs the binary to its end.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// Runs the binary with [`FAST`] before `args`.
pub fn run_fast(args: &[&str]) -> Output {
    run(&fast(args))
}

/// Standard output and standard error, one after the other.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success, got {:?}:\n{}",
        o.status,
        text(o)
    );
}

/// A clear error: exit status 2, `error:` with the expected words, no panic.
#[track_caller]
pub fn assert_user_error(o: &Output, words: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "expected exit status 2:\n{t}");
    assert!(!t.contains("panicked"), "panicked:\n{t}");
    assert!(t.contains("error:"), "no error line:\n{t}");
    for w in words {
        assert!(t.contains(w), "error message lacks `{w}`:\n{t}");
    }
}

/// A path as a command-line word.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The records of a run's `metrics.jsonl` (or of `metrics.jsonl.gz`, the archived form a
/// reproduction keeps).
pub fn metrics(dir: &Path) -> Vec<Value> {
    let plain = dir.join("metrics.jsonl");
    let text = if plain.is_file() {
        std::fs::read_to_string(plain).expect("metrics.jsonl")
    } else {
        let gz = std::fs::File::open(dir.join("metrics.jsonl.gz")).expect("metrics.jsonl(.gz)");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text)
            .expect("gzip");
        text
    };
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// A run's `summary.json`.
pub fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary.json"))
        .expect("JSON")
}

/// A step record without its timing fields (which differ between runs).
pub fn without_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("step_time_s");
        o.remove("wall_time_s");
    }
    v
}

/// A run's records without their timing fields, as parsed JSON (floats are written in their
/// shortest round-trip form, so equal values are equal bits).
pub fn records_without_times(dir: &Path) -> Vec<Value> {
    metrics(dir).iter().map(without_times).collect()
}

/// Sends signal `name` (`TERM`, `INT`) to the child.
pub fn signal(child: &Child, name: &str) {
    let st = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(st.success());
}

/// Waits for the child to exit (kills it and panics after 120 s).
pub fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run did not stop within 120 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}
