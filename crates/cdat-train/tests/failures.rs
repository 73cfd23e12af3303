//! A run that fails mid-way leaves a folder a user can trust (issue 20): a full disk ends the
//! run as `failed` with no temporary file left and its last checkpoint kept, `--resume`
//! completes it with the records of an uninterrupted run (from its checkpoint, or from step 0
//! when it had none), a plot that cannot be drawn loses nothing, and every command exits with
//! the documented status (0 done, 1 failed during the run, 2 refused before starting,
//! 130/143 interrupted).
//!
//! The full disk is a real one: a small tmpfs, filled up to a chosen free space. Mounting needs
//! root (CI runs as root); elsewhere those tests print why they skip.

mod common;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    assert_ok, assert_user_error, bin, fast, finish, records_without_times, run, s, signal,
    summary, text,
};

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
    filler: PathBuf,
}

const PAGE: u64 = 4096;

impl Tmpfs {
    /// A tmpfs of `kib` KiB, or `None` (with the reason printed) when it cannot be mounted.
    fn mount(test: &str, kib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output();
        match o {
            Ok(o) if o.status.success() => {
                let filler = dir.path().join("filler");
                Some(Self { dir, filler })
            }
            Ok(o) => {
                eprintln!(
                    "SKIPPED {test}: `mount -t tmpfs` failed (it needs root or CAP_SYS_ADMIN): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED {test}: cannot run `mount`: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system up, then frees `pages` pages: what is left is exactly that.
    fn leave_free(&self, pages: u64) {
        let mut f = File::create(&self.filler).unwrap();
        let block = vec![0u8; PAGE as usize];
        let mut len = 0u64;
        while f.write_all(&block).is_ok() {
            len += PAGE;
        }
        drop(f);
        // A partial last page may have been written: round down, then free `pages`.
        let len = (len / PAGE).saturating_sub(pages) * PAGE;
        OpenOptions::new()
            .write(true)
            .open(&self.filler)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    /// Frees the space the filler took.
    fn free(&self) {
        let _ = std::fs::remove_file(&self.filler);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A small run with state across steps (heavy ball, CDAT) and a checkpoint every 5 steps.
fn run_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = fast(&[
        "--optimizer",
        "momentum",
        "--steps",
        "20",
        "--checkpoint-every",
        "5",
        "--sharpness-every",
        "0",
        "--eval-every",
        "0",
        "--no-plots",
        "--out",
        s(dir),
    ]);
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE)
}

#[test]
fn a_full_disk_ends_the_run_as_failed_and_resume_completes_it() {
    let reference = tempfile::tempdir().unwrap();
    let ref_dir = reference.path().join("run");
    assert_ok(&run(&run_args(&ref_dir, &[])));
    let expected = records_without_times(&ref_dir);
    assert_eq!(expected.len(), 20);
    let ckpt_pages = pages(
        std::fs::metadata(ref_dir.join("checkpoint.ckpt"))
            .unwrap()
            .len(),
    );
    let metrics_pages = pages(
        std::fs::metadata(ref_dir.join("metrics.jsonl"))
            .unwrap()
            .len(),
    );
    assert!(
        ckpt_pages >= 8,
        "checkpoint of {ckpt_pages} pages: too small to place the failure"
    );
    // What a run holds besides its checkpoints: the lock, config.toml, model.json, the
    // reserve (16 pages), metrics.jsonl.
    let base = 3 + 16 + metrics_pages;

    // (free space, the checkpoint left, where `--resume` restarts)
    let cases = [
        // One checkpoint fits, not the temporary copy of the next one.
        (
            base + ckpt_pages + ckpt_pages / 2,
            Some(5),
            "continuing from the checkpoint of step 5",
        ),
        // Not even the first checkpoint.
        (base + ckpt_pages / 2, None, "starting it over from step 0"),
    ];
    for (free, kept, resumed) in cases {
        let Some(fs) = Tmpfs::mount("a_full_disk_ends_the_run_as_failed", 4096) else {
            return;
        };
        fs.leave_free(free);
        let dir = fs.path().join("run");
        let o = run(&run_args(&dir, &[]));
        let t = text(&o);
        assert_eq!(
            o.status.code(),
            Some(1),
            "a full disk fails the run (1):\n{t}"
        );
        assert!(!t.contains("panicked"), "{t}");
        assert!(
            t.contains("No space left on device"),
            "the cause is named:\n{t}"
        );
        assert!(
            t.contains("--resume"),
            "the message says how to continue:\n{t}"
        );
        let left = files_in(&dir);
        assert!(
            !left
                .iter()
                .any(|f| f.ends_with(".tmp") || f == ".cdat-train.reserve"),
            "temporary files or the reserve left behind: {left:?}"
        );
        assert!(!left.iter().any(|f| f == ".cdat-train.lock"), "{left:?}");
        let sm = summary(&dir);
        assert_eq!(sm["status"], "failed", "{sm}");
        assert!(
            sm["error"]
                .as_str()
                .unwrap()
                .contains("No space left on device"),
            "{sm}"
        );
        let done = records_without_times(&dir);
        assert_eq!(sm["steps_recorded"], done.len());
        assert_eq!(
            done[..],
            expected[..done.len()],
            "the records written are the run's"
        );
        match kept {
            Some(step) => {
                assert!(
                    t.contains(&format!("checkpoint.ckpt of step {step} kept")),
                    "{t}"
                );
                assert!(done.len() >= step);
                assert!(dir.join("checkpoint.ckpt").is_file());
            }
            None => {
                assert!(t.contains("no checkpoint yet"), "{t}");
                assert!(!dir.join("checkpoint.ckpt").exists());
            }
        }

        fs.free();
        let o = run(&run_args(&dir, &["--resume"]));
        assert_ok(&o);
        assert!(text(&o).contains(resumed), "{}", text(&o));
        assert_eq!(
            records_without_times(&dir),
            expected,
            "resumed records = uninterrupted records"
        );
        assert_eq!(summary(&dir)["status"], "completed");
        assert!(summary(&dir).get("error").is_none());
        let left = files_in(&dir);
        assert!(!left.iter().any(|f| f.starts_with('.')), "{left:?}");
    }

    // A disk with no room at all: the run fails before it starts (the lock cannot be
    // written), leaves nothing behind, and `--resume` starts it once there is room.
    let Some(fs) = Tmpfs::mount("a_full_disk_ends_the_run_as_failed (no room)", 4096) else {
        return;
    };
    fs.leave_free(0);
    let dir = fs.path().join("run");
    let o = run(&run_args(&dir, &[]));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("No space left on device"), "{t}");
    assert_eq!(
        files_in(&dir),
        Vec::<String>::new(),
        "nothing left in the folder"
    );
    fs.free();
    let o = run(&run_args(&dir, &["--resume"]));
    assert_ok(&o);
    assert!(text(&o).contains("holds no run yet"), "{}", text(&o));
    assert_eq!(records_without_times(&dir), expected);
}

#[test]
fn a_plot_that_cannot_be_drawn_keeps_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    // A file where the plots folder goes: creating it fails, as a full disk or a missing
    // encoder would make drawing fail.
    std::fs::write(dir.join("plots"), "not a folder").unwrap();
    let mut a = fast(&[
        "--steps",
        "6",
        "--checkpoint-every",
        "3",
        "--sharpness-every",
        "3",
        "--power-iters",
        "3",
        "--eval-every",
        "0",
        "--force",
        "--out",
        s(&dir),
    ]);
    a.retain(|x| x != "--no-plots");
    let o = run(&a);
    let t = text(&o);
    assert_ok(&o);
    assert!(
        t.contains("warning: the plots"),
        "the plot error is printed:\n{t}"
    );
    let sm = summary(&dir);
    assert_eq!(sm["status"], "completed", "{sm}");
    assert!(
        sm["plots_error"]
            .as_str()
            .is_some_and(|e| e.contains("plots")),
        "{sm}"
    );
    assert_eq!(records_without_times(&dir).len(), 6);
    assert!(dir.join("checkpoint.ckpt").is_file());
    let files = t
        .lines()
        .find(|l| l.trim_start().starts_with("files:"))
        .unwrap();
    assert!(!files.contains("plots"), "{files}");
    // The checkpoint is the last step's: the run resumes past it.
    let mut more = a.clone();
    for x in more.iter_mut() {
        if x == "6" {
            *x = "8".into();
        }
    }
    more.retain(|x| x != "--force");
    more.push("--resume".into());
    std::fs::remove_file(dir.join("plots")).unwrap();
    assert_ok(&run(&more));
    assert_eq!(records_without_times(&dir).len(), 8);
    assert!(dir.join("plots/overview.png").is_file());
    assert!(summary(&dir).get("plots_error").is_none());
}

// ------------------------------------------------------------------ exit statuses

fn spawn(args: &[String]) -> std::process::Child {
    bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGTERM once `ready()` holds (panics after 180 s), and returns the output.
fn terminate_when(mut child: std::process::Child, ready: impl Fn() -> bool) -> Output {
    let start = Instant::now();
    while !ready() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "ended before the signal: {st:?}\n{}",
                text(&child.wait_with_output().unwrap())
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "not ready after 180 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, "TERM");
    finish(child)
}

fn has_records(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("metrics.jsonl")).is_ok_and(|t| t.lines().count() >= 2)
}

/// Some run folder under `root` (depth ≤ 3) has step records.
fn some_run_has_records(root: &Path) -> bool {
    fn walk(p: &Path, depth: usize) -> bool {
        has_records(p)
            || (depth > 0
                && std::fs::read_dir(p).is_ok_and(|rd| {
                    rd.filter_map(|e| e.ok())
                        .any(|e| walk(&e.path(), depth - 1))
                }))
    }
    walk(root, 3)
}

#[track_caller]
fn assert_code(o: &Output, code: i32, what: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(code), "{what}: exit status\n{t}");
    assert!(!t.contains("panicked"), "{what}:\n{t}");
}

fn sweep_args(out: &Path, steps: &str) -> Vec<String> {
    let mut a: Vec<String> = [
        "sweep",
        "--grid",
        "lr",
        "--lr-log2-min",
        "-2",
        "--lr-log2-max",
        "-1",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(fast(&[
        "--steps",
        steps,
        "--sharpness-every",
        "0",
        "--eval-every",
        "0",
        "--checkpoint-every",
        "0",
        "--no-plots",
        "--out",
        s(out),
    ]));
    a
}

#[test]
fn every_command_exits_with_the_documented_status() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();

    // train: 0 and 2 here; 1 in the full-disk test, 130/143 in tests/trust.rs.
    assert_code(
        &run(&fast(&[
            "--steps",
            "2",
            "--no-plots",
            "--out",
            s(&t.join("a")),
        ])),
        0,
        "train",
    );
    assert_user_error(
        &run(&fast(&[
            "--steps",
            "2",
            "--lr",
            "-1",
            "--out",
            s(&t.join("b")),
        ])),
        &["lr"],
    );

    // sweep: 0, 2, 143 (and 1 below).
    assert_code(&run(&sweep_args(&t.join("sw"), "2")), 0, "sweep");
    let mut bad = sweep_args(&t.join("sw-bad"), "2");
    bad[4] = "3".into(); // --lr-log2-min 3 > --lr-log2-max -1
    assert_user_error(&run(&bad), &["--lr-log2"]);
    let root = t.join("sw-long");
    let o = terminate_when(spawn(&sweep_args(&root, "1000000")), || {
        some_run_has_records(&root)
    });
    assert_code(&o, 143, "sweep under SIGTERM");

    // simulate: 0, 2.
    assert_code(
        &run(&["simulate", "--steps", "50", "--out", s(&t.join("sim"))]),
        0,
        "simulate",
    );
    assert_user_error(
        &run(&["simulate", "--steps", "0", "--out", s(&t.join("sim0"))]),
        &["--steps"],
    );

    // simulate under SIGTERM: the signal arrives while the first scenario's CSV is written
    // (the four take about 1.5 s in a debug build); the next scenario is not started.
    let sim = t.join("sim-term");
    let args: Vec<String> = ["simulate", "--steps", "100000", "--out", s(&sim)]
        .iter()
        .map(|x| x.to_string())
        .collect();
    let o = terminate_when(spawn(&args), || sim.join("constant-eta.csv").exists());
    assert_code(&o, 143, "simulate under SIGTERM");
    assert!(
        !sim.join("cdat-sigma-1.9.csv").exists(),
        "the last scenario was not run"
    );

    // reproduce: 0 (the committed runs' report), 2.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report_only = |results: &Path, report: &Path| {
        bin()
            .current_dir(&repo)
            .args(["reproduce", "--report-only", "--data-root", "/nonexistent"])
            .arg("--results")
            .arg(results)
            .arg("--report")
            .arg(report)
            .output()
            .unwrap()
    };
    assert_code(
        &report_only(&t.join("res"), &t.join("REPORT.md")),
        0,
        "reproduce --report-only",
    );
    let o = bin()
        .current_dir(&repo)
        .args(["reproduce", "--only", "no-such-suite", "--report-only"])
        .output()
        .unwrap();
    assert_user_error(&o, &["no-such-suite"]);

    // 1: each command on a full disk.
    if let Some(fs) = Tmpfs::mount(
        "every_command_exits_with_the_documented_status (status 1)",
        2048,
    ) {
        fs.leave_free(0);
        let full = fs.path();
        assert_code(
            &run(&sweep_args(&full.join("sw"), "2")),
            1,
            "sweep on a full disk",
        );
        assert_code(
            &run(&["simulate", "--steps", "50", "--out", s(&full.join("sim"))]),
            1,
            "simulate on a full disk",
        );
        assert_code(
            &report_only(&full.join("res"), &full.join("REPORT.md")),
            1,
            "reproduce on a full disk",
        );
    }

    // reproduce under SIGTERM: a quick plan run on the real data.
    let data = repo.join("../shared/datasets");
    if !data.join("cifar10").is_dir() {
        eprintln!(
            "SKIPPED reproduce under SIGTERM: no CIFAR-10 in {}",
            data.display()
        );
        return;
    }
    let out = t.join("repro");
    let child = bin()
        .current_dir(&repo)
        .args([
            "reproduce",
            "--quick",
            "--only",
            "mlp128-mse",
            "--no-progress",
            "--data-root",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .arg("--results")
        .arg(t.join("repro-res"))
        .arg("--report")
        .arg(t.join("repro.md"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = terminate_when(child, || some_run_has_records(&out));
    assert_code(&o, 143, "reproduce under SIGTERM");
}
