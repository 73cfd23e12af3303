//! Runs that can be trusted (issue 11): no lost step records on resume, bad model and
//! optimizer settings refused before anything is written, one run per output folder,
//! SIGINT/SIGTERM stopping with a checkpoint and a summary, verified checkpoints, bounded
//! `simulate`, and run reports that list only the files that exist. CPU (ndarray), tiny runs on
//! the embedded MNIST subset.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{
    assert_ok, assert_user_error, bin, fast, finish, run, s, signal, summary, text, BASE,
};

fn metrics_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn steps_of(dir: &Path) -> Vec<u64> {
    metrics_lines(dir)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON line")["step"]
                .as_u64()
                .expect("step")
        })
        .collect()
}

/// The bytes of every file of a run folder (to check that a refused command changed nothing).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

// ------------------------------------------------------------------ resume and metrics.jsonl

#[test]
fn resume_refuses_damaged_records_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let common = ["--sharpness-every", "0", "--eval-every", "0", "--no-plots"];
    let dir = tmp.path().join("run");
    let mut a: Vec<&str> = common.to_vec();
    a.extend(["--steps", "12", "--checkpoint-every", "6", "--out", s(&dir)]);
    assert_ok(&run(&fast(&a)));
    let good = metrics_lines(&dir);
    assert_eq!(good.len(), 12);
    let mut resume: Vec<&str> = common.to_vec();
    resume.extend(["--steps", "14", "--out", s(&dir), "--resume"]);

    // The case: one garbage line among the records up to the checkpoint (step 12)
    // used to drop every valid record after it, and the run still said "completed".
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            {
                let mut l = good.clone();
                l[4] = "garbage".into();
                l
            },
            vec!["line 5", "steps 5-12"],
        ),
        (
            {
                let mut l = good.clone();
                l.remove(6);
                l
            },
            vec!["line 7", "step 7"],
        ),
        (good[..9].to_vec(), vec!["steps 10-12", "incomplete"]),
        (
            {
                let mut l = good[..11].to_vec();
                l.push(good[11][..good[11].len() / 2].to_string());
                l
            },
            vec!["line 12", "cut short"],
        ),
    ];
    for (lines, words) in cases {
        let mut body = lines.join("\n");
        if !words.contains(&"cut short") {
            body.push('\n');
        }
        std::fs::write(dir.join("metrics.jsonl"), &body).unwrap();
        let before = snapshot(&dir);
        let o = run(&fast(&resume));
        let mut all = words.clone();
        all.push("metrics.jsonl");
        assert_user_error(&o, &all);
        assert_eq!(
            snapshot(&dir),
            before,
            "a refused resume changed the folder"
        );
        assert_eq!(summary(&dir)["status"], "completed");
    }

    // Records after the checkpoint (a crash after step 12's checkpoint, during step 13) are
    // redone, with a notice; every record up to the checkpoint is kept as it was.
    let mut body = good.join("\n");
    body.push_str("\n{\"step\":13,\"epoch\":12,\"lo");
    std::fs::write(dir.join("metrics.jsonl"), &body).unwrap();
    let o = run(&fast(&resume));
    assert_ok(&o);
    assert!(text(&o).contains("dropped"), "{}", text(&o));
    let after = metrics_lines(&dir);
    assert_eq!(
        after[..12],
        good[..],
        "records up to the checkpoint kept verbatim"
    );
    assert_eq!(steps_of(&dir), (1..=14).collect::<Vec<_>>());
    assert_eq!(summary(&dir)["steps_recorded"], 14);
}

// ------------------------------------------------------------------ settings

#[test]
fn bad_model_settings_are_clear_errors_before_any_file_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        ("mlp", "hidden=[0]", &["hidden", "width 0"]),
        ("mlp", "hidden=[16, 0]", &["hidden", "layer 2"]),
        ("mlp", "num_classes=3", &["num_classes", "10 classes"]),
        ("mlp", "d_input=5", &["d_input", "784"]),
        (
            "vit",
            "patch_size=5",
            &["patch_size", "does not divide", "28"],
        ),
        ("vit", "patch_size=0", &["patch_size"]),
        ("vit", "num_heads=3", &["num_heads", "embed_dim = 64"]),
        ("vit", "image_size=32", &["image_size", "28x28"]),
        ("vit", "embed_dim=0", &["embed_dim"]),
        ("mixer", "patch_size=5", &["patch_size", "does not divide"]),
        ("mixer", "image_size=32", &["image_size"]),
        ("mixer", "hidden_dim=0", &["hidden_dim"]),
        ("resnet8", "in_channels=3", &["in_channels", "1 channels"]),
        ("resnet8", "base_width=0", &["base_width"]),
        ("resnet8", "blocks_per_stage=[]", &["blocks_per_stage"]),
        ("resnet8", "num_classes=100", &["num_classes"]),
    ];
    for (i, (model, set, words)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("m{i}"));
        let mut args: Vec<&str> = BASE.to_vec();
        args.extend(["--model", model, "--model-set", set, "--steps", "1"]);
        args.extend(["--out", s(&dir)]);
        let o = run(&args);
        let mut all = words.to_vec();
        all.push("--model-set");
        assert_user_error(&o, &all);
        assert!(
            !dir.exists(),
            "{model} {set}: the output folder was created"
        );
    }
    // The same from a config file's [model] table.
    let cfg = tmp.path().join("vit.toml");
    std::fs::write(
        &cfg,
        "backend = \"ndarray\"\n[model]\nname = \"vit\"\n[model.config]\nnum_heads = 3\n",
    )
    .unwrap();
    let dir = tmp.path().join("from-file");
    let o = run(&[
        "--config",
        s(&cfg),
        "--train-subset",
        "64",
        "--steps",
        "1",
        "--no-progress",
        "--out",
        s(&dir),
    ]);
    assert_user_error(&o, &["num_heads", "model.config"]);
    assert!(!dir.exists());
}

#[test]
fn optimizer_settings_the_optimizer_does_not_have_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    for (args, words) in [
        (
            vec!["--optimizer-set", "momentum=0.9"],
            vec![
                "momentum",
                "`gd`",
                "no setting",
                "optimizers with `momentum`",
            ],
        ),
        (vec!["--optimizer-set", "lr=5"], vec!["lr", "`gd`", "--lr"]),
        (vec!["--optimizer-set", "foo=1"], vec!["foo", "`gd`"]),
        (
            vec!["--optimizer", "adam", "--optimizer-set", "momentum=0.9"],
            vec!["momentum", "adam"],
        ),
        (vec!["--tuner-set", "foo=1"], vec!["foo", "cdat"]),
    ] {
        let mut a = args.clone();
        a.extend(["--steps", "1", "--out", s(&dir)]);
        let o = run(&fast(&a));
        assert_user_error(&o, &words);
        assert!(!dir.exists(), "{args:?}: the output folder was created");
    }
    // In the config file's [optimizer] table, with the line.
    for (body, key) in [
        (
            "[optimizer]\nname = \"gd\"\nmomentum = 0.9\n",
            "optimizer.momentum",
        ),
        ("[optimizer]\nname = \"gd\"\nlr = 5\n", "optimizer.lr"),
        ("[optimizer]\nname = \"sgd\"\n\nfoo = 1\n", "optimizer.foo"),
    ] {
        let cfg = tmp.path().join("c.toml");
        std::fs::write(&cfg, body).unwrap();
        let mut a = vec!["--config", s(&cfg)];
        a.extend(["--steps", "1", "--out", s(&dir)]);
        let o = run(&fast(&a));
        let line = format!("line {}", body.lines().count());
        assert_user_error(&o, &[key, &line, "c.toml"]);
        assert!(!dir.exists());
        // --print-config checks it too.
        let o = run(&["--config", s(&cfg), "--print-config"]);
        assert_user_error(&o, &[key]);
    }
}

// ------------------------------------------------------------------ lock and signals

fn spawn_long_run(dir: &Path) -> Child {
    bin()
        .args(fast(&[
            "--steps",
            "1000000",
            "--sharpness-every",
            "0",
            "--eval-every",
            "0",
            "--checkpoint-every",
            "0",
            "--no-plots",
            "--out",
            s(dir),
        ]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

/// Waits until the run in `dir` has written `n` records (panics after 120 s).
fn wait_for_records(child: &mut Child, dir: &Path, n: usize) {
    let start = Instant::now();
    while metrics_lines(dir).len() < n {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended early: {status:?}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no {n} records after 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[cfg(unix)]
fn a_busy_folder_is_refused_and_signals_stop_with_a_checkpoint_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tmp.path().join(format!("run-{sig}"));
        let mut child = spawn_long_run(&dir);
        wait_for_records(&mut child, &dir, 3);
        // A second run on the busy folder is refused, also with --force or --resume.
        let lock = std::fs::read_to_string(dir.join(".cdat-train.lock")).expect("lock file");
        assert!(lock.contains(&format!("pid = {}", child.id())), "{lock}");
        for extra in [&[][..], &["--force"][..]] {
            let mut a = vec!["--steps", "5", "--out", s(&dir)];
            a.extend_from_slice(extra);
            let o = run(&fast(&a));
            assert_user_error(&o, &["in use", &child.id().to_string(), ".cdat-train.lock"]);
        }
        signal(&child, sig);
        let o = finish(child);
        let t = text(&o);
        assert_eq!(
            o.status.code(),
            Some(code),
            "exit status after SIG{sig}:\n{t}"
        );
        assert!(!t.contains("panicked"), "{t}");
        assert!(
            t.contains(&format!("interrupted by SIG{sig}")) && t.contains("--resume"),
            "{t}"
        );
        let sm = summary(&dir);
        assert_eq!(sm["status"], "interrupted", "{sm}");
        assert_eq!(sm["interrupted_by"], format!("SIG{sig}"));
        let k = steps_of(&dir).len();
        assert!(k >= 3);
        assert_eq!(sm["steps_recorded"], k);
        assert_eq!(steps_of(&dir), (1..=k as u64).collect::<Vec<_>>());
        assert!(dir.join("checkpoint.ckpt").is_file());
        assert!(
            t.contains(&format!("checkpoint.ckpt (step {k})")),
            "the report names the checkpoint's step:\n{t}"
        );
        assert!(!dir.join(".cdat-train.lock").exists(), "lock released");
        // The checkpoint is of the last recorded step: resuming continues right after it.
        let target = (k + 2).to_string();
        let o = run(&fast(&[
            "--steps",
            &target,
            "--sharpness-every",
            "0",
            "--eval-every",
            "0",
            "--checkpoint-every",
            "0",
            "--no-plots",
            "--out",
            s(&dir),
            "--resume",
        ]));
        assert_ok(&o);
        assert_eq!(steps_of(&dir), (1..=k as u64 + 2).collect::<Vec<_>>());
        assert_eq!(summary(&dir)["status"], "completed");
    }
}

#[test]
fn a_stale_lock_of_a_dead_process_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(dir.join(".cdat-train.lock"), format!("pid = {dead}\n")).unwrap();
    let o = run(&fast(&["--steps", "2", "--no-plots", "--out", s(&dir)]));
    assert_ok(&o);
    let t = text(&o);
    assert!(
        t.contains(&format!("process {dead}")) && t.contains("no longer runs"),
        "{t}"
    );
    assert!(!dir.join(".cdat-train.lock").exists());
    assert_eq!(steps_of(&dir), [1, 2]);
}

// ------------------------------------------------------------------ checkpoints

#[test]
fn a_corrupted_checkpoint_or_an_edited_config_is_refused_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let common = ["--sharpness-every", "0", "--eval-every", "0", "--no-plots"];
    let mut a: Vec<&str> = common.to_vec();
    a.extend(["--steps", "3", "--out", s(&dir)]);
    assert_ok(&run(&fast(&a)));
    let mut resume: Vec<&str> = common.to_vec();
    resume.extend(["--steps", "5", "--out", s(&dir), "--resume"]);

    // 16 overwritten bytes in the middle of the checkpoint (the model's weights).
    let ck = dir.join("checkpoint.ckpt");
    let original = std::fs::read(&ck).unwrap();
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    bad[mid..mid + 16].copy_from_slice(&[0x42; 16]);
    std::fs::write(&ck, &bad).unwrap();
    let before = snapshot(&dir);
    let o = run(&fast(&resume));
    assert_user_error(&o, &["checkpoint.ckpt", "checksum"]);
    assert_eq!(
        snapshot(&dir),
        before,
        "a refused resume changed the folder"
    );
    // Truncated.
    std::fs::write(&ck, &original[..original.len() - 100]).unwrap();
    assert_user_error(&run(&fast(&resume)), &["checkpoint.ckpt"]);
    std::fs::write(&ck, &original).unwrap();

    // config.toml edited to sigma = 1 after the checkpoint (the case: the resumed run
    // used to go on at sigma = 1 from a sigma = 2 run).
    let cfg_path = dir.join("config.toml");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(cfg.contains("sigma = 2.0"), "{cfg}");
    std::fs::write(&cfg_path, cfg.replace("sigma = 2.0", "sigma = 1.0")).unwrap();
    let before = snapshot(&dir);
    let o = run(&[
        "--config",
        s(&cfg_path),
        "--steps",
        "5",
        "--no-progress",
        "--out",
        s(&dir),
        "--resume",
    ]);
    assert_user_error(&o, &["checkpoint.ckpt", "tuner.sigma", "config.toml"]);
    assert_eq!(snapshot(&dir), before);
    // Restored, it resumes.
    std::fs::write(&cfg_path, &cfg).unwrap();
    let o = run(&[
        "--config",
        s(&cfg_path),
        "--steps",
        "5",
        "--no-progress",
        "--out",
        s(&dir),
        "--resume",
    ]);
    assert_ok(&o);
    assert_eq!(steps_of(&dir), [1, 2, 3, 4, 5]);
}

// ------------------------------------------------------------------ reports and simulate

#[test]
fn a_diverged_run_lists_only_the_files_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("div");
    let o = run(&fast(&[
        "--tuner",
        "constant",
        "--lr",
        "5000",
        "--steps",
        "30",
        "--sharpness-every",
        "0",
        "--no-plots",
        "--out",
        s(&dir),
    ]));
    assert_ok(&o);
    let t = text(&o);
    assert!(t.contains("diverged"), "{t}");
    let files = t
        .lines()
        .find(|l| l.trim_start().starts_with("files:"))
        .expect("a files line");
    assert!(!dir.join("checkpoint.ckpt").exists());
    assert!(!files.contains("checkpoint"), "{files}");
    assert!(!files.contains("plots"), "{files}");
    for f in ["config.toml", "metrics.jsonl", "summary.json"] {
        assert!(files.contains(f) && dir.join(f).is_file(), "{files}");
    }
}

#[test]
fn simulate_refuses_more_steps_than_its_documented_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sim");
    let o = run(&["simulate", "--steps", "100001", "--out", s(&dir)]);
    assert_user_error(&o, &["--steps 100001", "100000"]);
    assert!(!dir.exists());
    let o = run(&["simulate", "--help"]);
    assert_ok(&o);
    assert!(text(&o).contains("at most 100,000"), "{}", text(&o));
}

#[test]
fn help_documents_the_lock_the_signals_and_the_exit_statuses() {
    let o = run(&["--help"]);
    assert_ok(&o);
    let t = text(&o);
    for w in [
        ".cdat-train.lock",
        "SIGTERM",
        "interrupted",
        "130",
        "143",
        "checksum",
    ] {
        assert!(t.contains(w), "--help lacks `{w}`");
    }
}
