//! Same seed, same run (issue 11, item 5): on the CPU backend two runs of one config give
//! bit-identical `metrics.jsonl` records (timing fields aside), whatever the thread count, and a
//! run killed mid-way and resumed gives the records of the uninterrupted run.
//!
//! The non-determinism had one source, below the trainer: Burn-ndarray's f32 `float_recip`
//! (used by the backward of `log` and `div`) is an approximate SIMD reciprocal on the aligned
//! body of a buffer and an exact one on its head and tail, so results depended on buffer
//! addresses. `Dual` computes reciprocals by an exact division (see `tests/determinism.rs` of
//! cdat-core).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::records_without_times;

/// On top of [`common::FAST`]: a small run measuring everything that can carry state across
/// steps: heavy ball, CDAT EMAs, mini-batches, sharpness warm starts, evaluation.
const RUN: &[&str] = &[
    "--no-plots",
    "--optimizer",
    "momentum",
    "--tuner-set",
    "beta=0.5",
    "--batch-size",
    "64",
    "--sharpness-every",
    "3",
    "--power-iters",
    "5",
    "--eval-every",
    "4",
    "--seed",
    "5",
];

fn command(out: &Path, steps: usize, extra: &[&str]) -> Command {
    let mut c = common::bin();
    c.args(common::FAST)
        .args(RUN)
        .args(["--steps", &steps.to_string()])
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run_ok(mut c: Command) {
    let o = c.output().expect("binary runs");
    assert!(
        o.status.success(),
        "{:?}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[track_caller]
fn assert_identical(a: &[Value], b: &[Value], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: record counts");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y, "{what}: step {} differs", x["step"]);
    }
}

#[test]
fn two_runs_of_one_seed_are_bit_identical_with_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let steps = 16;
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("run{i}"))).collect();
    run_ok(command(&dirs[0], steps, &[]));
    run_ok(command(&dirs[1], steps, &[]));
    let mut single = command(&dirs[2], steps, &[]);
    single.env("RAYON_NUM_THREADS", "1");
    run_ok(single);
    let first = records_without_times(&dirs[0]);
    assert_eq!(first.len(), steps);
    assert!(first[0]["sharpness"].is_f64() && first[3]["train_accuracy"].is_f64());
    assert_identical(&first, &records_without_times(&dirs[1]), "second run");
    assert_identical(
        &first,
        &records_without_times(&dirs[2]),
        "RAYON_NUM_THREADS=1",
    );
}

#[test]
fn a_killed_and_resumed_run_gives_the_records_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    // Long enough that the kill after 11 records lands well before the end.
    let steps = 120;
    let (full, part) = (tmp.path().join("full"), tmp.path().join("part"));
    run_ok(command(&full, steps, &["--checkpoint-every", "4"]));
    // Killed (SIGKILL: no handler runs) once a few checkpoints are written, mid-epoch and
    // between measurements.
    let mut child = command(&part, steps, &["--checkpoint-every", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        let n =
            std::fs::read_to_string(part.join("metrics.jsonl")).map_or(0, |t| t.lines().count());
        if n >= 11 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it was killed: {status:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no records");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_at = records_without_times(&part).len();
    assert!(killed_at < steps, "killed after {killed_at} steps");
    run_ok(command(
        &part,
        steps,
        &["--checkpoint-every", "4", "--resume"],
    ));
    assert_identical(
        &records_without_times(&full),
        &records_without_times(&part),
        "resumed run",
    );
}
