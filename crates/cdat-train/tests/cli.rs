//! End-to-end tests of the `cdat-train` binary on the CPU (ndarray), with tiny runs on the
//! embedded MNIST subset.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{
    assert_ok, assert_user_error, bin, metrics, run, run_fast, s, summary, text, without_times,
    FAST,
};

fn out_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

/// Two records are the same: same fields, equal integers, booleans and strings, floats equal up
/// to 1e-3 relative. Two fresh runs of the same seed already differ in gradient-derived floats
/// (measured: up to 3e-5 relative after 7 steps of this test's setup, and a resumed run 1.4e-4
/// on a loaded machine; still so with RAYON_NUM_THREADS=1, where step 1 agrees bitwise and step
/// 2 does not: the cause, below the trainer, is not found yet). A resume that lost state (the
/// momentum, the EMAs, the data order) differs by far more than 1e-3.
#[track_caller]
fn assert_same_record(x: &Value, y: &Value) {
    let (a, b) = (without_times(x), without_times(y));
    let (oa, ob) = (a.as_object().unwrap(), b.as_object().unwrap());
    let mut ka: Vec<&String> = oa.keys().collect();
    let mut kb: Vec<&String> = ob.keys().collect();
    ka.sort();
    kb.sort();
    assert_eq!(ka, kb, "different fields at step {}", a["step"]);
    for k in ka {
        let (u, v) = (&oa[k], &ob[k]);
        match (u.as_f64(), v.as_f64(), u.is_f64() || v.is_f64()) {
            (Some(p), Some(q), true) => assert!(
                (p - q).abs() <= 1e-3 * p.abs().max(q.abs()) + 1e-7,
                "step {} field {k}: {p} vs {q}",
                a["step"]
            ),
            _ => assert_eq!(u, v, "step {} field {k}", a["step"]),
        }
    }
}

#[test]
fn help_explains_every_flag() {
    let o = run(&["--help"]);
    assert_ok(&o);
    let t = text(&o);
    for flag in [
        "--backend",
        "--config",
        "--steps",
        "--out",
        "--data-dir",
        "--seed",
        "--resume",
        "--force",
        "--model",
        "--tuner",
        "--optimizer",
        "--lr",
        "--sigma",
        "--batch-size",
        "--epochs",
        "--eval-every",
        "--sharpness-every",
        "--power-iters",
        "--power-tol",
        "--checkpoint-every",
        "--divergence-factor",
        "--precision",
        "--dataset",
        "mesa-vulkan-drivers",
    ] {
        assert!(t.contains(flag), "--help lacks {flag}");
    }
    let o = run(&["sweep", "--help"]);
    assert_ok(&o);
    let t = text(&o);
    for flag in [
        "--grid",
        "--lr-log2-min",
        "--lr-log2-max",
        "--sigmas",
        "--batch-sizes",
        "--steps",
    ] {
        assert!(t.contains(flag), "sweep --help lacks {flag}");
    }
}

#[test]
fn short_run_leaves_metrics_summary_plots_and_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "run");
    let o = run_fast(&[
        "--steps",
        "4",
        "--sharpness-every",
        "2",
        "--eval-every",
        "2",
        "--power-iters",
        "5",
        "--out",
        s(&dir),
    ]);
    assert_ok(&o);
    assert!(
        text(&o).contains(s(&dir)),
        "prints where its files are:\n{}",
        text(&o)
    );
    for f in [
        "config.toml",
        "model.json",
        "metrics.jsonl",
        "summary.json",
        "checkpoint.ckpt",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    for p in ["loss", "lr", "sharpness", "lr_sharpness", "overview"] {
        for ext in ["png", "svg"] {
            let f = dir.join("plots").join(format!("{p}.{ext}"));
            assert!(
                std::fs::metadata(&f)
                    .map(|m| m.len() > 1000)
                    .unwrap_or(false),
                "missing or empty {}",
                f.display()
            );
        }
    }
    let m = metrics(&dir);
    assert_eq!(m.len(), 4);
    for (i, r) in m.iter().enumerate() {
        assert_eq!(r["step"], i + 1);
        for k in [
            "epoch",
            "loss",
            "lr",
            "slope",
            "curvature",
            "grad_norm",
            "dir_norm",
            "loss_evals",
            "grad_evals",
            "hvp_evals",
            "step_time_s",
            "wall_time_s",
        ] {
            assert!(r.get(k).is_some(), "step {} lacks {k}: {r}", i + 1);
        }
        assert!(r["loss"].as_f64().unwrap().is_finite());
        assert!(r["curvature"].as_f64().is_some(), "CDAT measures uᵀHu");
    }
    // Measured steps: 1, 2, 4 (every 2 and the last).
    for i in [0, 1, 3] {
        for k in [
            "sharpness",
            "lr_times_sharpness",
            "train_accuracy",
            "train_eval_loss",
            "test_accuracy",
            "test_loss",
        ] {
            assert!(m[i][k].as_f64().is_some(), "step {} lacks {k}", i + 1);
        }
        let prod = m[i]["lr"].as_f64().unwrap() * m[i]["sharpness"].as_f64().unwrap();
        assert!(
            (prod - m[i]["lr_times_sharpness"].as_f64().unwrap()).abs()
                <= 1e-9 * prod.abs().max(1.0)
        );
    }
    assert!(m[2].get("sharpness").is_none());
    let sm = summary(&dir);
    assert_eq!(sm["status"], "completed");
    assert_eq!(sm["diverged"], false);
    assert_eq!(sm["steps_recorded"], 4);
    for k in [
        "final_loss",
        "last5_mean_loss",
        "best_loss",
        "final_sharpness",
        "final_test_accuracy",
        "total_time_s",
    ] {
        assert!(sm[k].as_f64().is_some(), "summary lacks {k}: {sm}");
    }
    // The saved config parses and repeats the run.
    let cfg = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        cfg.contains("name = \"cdat\"") && cfg.contains("steps = 4"),
        "{cfg}"
    );
}

#[test]
fn resume_from_checkpoint_gives_the_same_metrics() {
    // Heavy ball (base-optimizer state), mini-batches (data order), sharpness warm starts and
    // EMAs all cross the checkpoint at step 3.
    let common = [
        "--optimizer",
        "momentum",
        "--tuner-set",
        "beta=0.5",
        "--batch-size",
        "64",
        "--sharpness-every",
        "2",
        "--power-iters",
        "4",
        "--eval-every",
        "3",
        "--checkpoint-every",
        "3",
        "--seed",
        "7",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let full = out_dir(&tmp, "full");
    let part = out_dir(&tmp, "part");
    let mut a: Vec<&str> = common.to_vec();
    a.extend(["--steps", "7", "--out", s(&full)]);
    assert_ok(&run_fast(&a));
    // Stopped after its checkpoint at step 3 (mid-epoch: 4 batches of 64 per epoch).
    let mut b: Vec<&str> = common.to_vec();
    b.extend(["--steps", "3", "--out", s(&part)]);
    assert_ok(&run_fast(&b));
    assert!(part.join("checkpoint.ckpt").is_file());
    let mut c: Vec<&str> = common.to_vec();
    c.extend(["--steps", "7", "--out", s(&part), "--resume"]);
    let o = run_fast(&c);
    assert_ok(&o);
    let mf = metrics(&full);
    let mp = metrics(&part);
    assert_eq!(mf.len(), 7);
    assert_eq!(mp.len(), 7);
    // Bit for bit (timing fields aside). Step 3 was the last step of the short run, which
    // also measured sharpness there (the end of every run is measured): its record has those
    // fields on top of the uninterrupted run's.
    assert!(mp[2]["sharpness"].is_f64() && mf[2].get("sharpness").is_none());
    for (i, (x, y)) in mf.iter().zip(&mp).enumerate() {
        let mut y = without_times(y);
        if i == 2 {
            let o = y.as_object_mut().unwrap();
            for k in [
                "sharpness",
                "sharpness_hvps",
                "sharpness_converged",
                "lr_times_sharpness",
                "lambda_min",
                "grad_curvature",
                "grad_alignment",
            ] {
                assert!(o.remove(k).is_some(), "step 3 lacks {k}");
            }
        }
        assert_eq!(without_times(x), y, "step {}", i + 1);
    }
    assert_eq!(summary(&part)["steps_recorded"], 7);
}

/// The curvature along the gradient recorded beside λmax (an HVP along g) against the jet's
/// uᵀHu of CDAT over GD (u = −g, a forward pass carrying a Taylor coefficient): the same number
/// by two independent computations, and a Rayleigh quotient between λmin and λmax.
#[test]
fn the_curvature_along_the_gradient_matches_the_jet_and_lies_within_the_spectrum() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "run");
    assert_ok(&run_fast(&[
        "--tuner",
        "cdat",
        "--steps",
        "4",
        "--sharpness-every",
        "1",
        "--power-iters",
        "30",
        "--eval-every",
        "0",
        "--out",
        s(&out),
    ]));
    let records = metrics(&out);
    assert_eq!(records.len(), 4);
    for r in &records {
        let f = |k: &str| {
            r[k].as_f64()
                .unwrap_or_else(|| panic!("step lacks {k}: {r}"))
        };
        let (gc, g, uhu) = (f("grad_curvature"), f("grad_norm"), f("curvature"));
        let rel = (gc * g * g - uhu).abs() / uhu.abs();
        assert!(
            rel < 1e-3,
            "gᵀHg by HVP {} vs jet {uhu}: {rel:e}",
            gc * g * g
        );
        assert!(
            gc <= f("sharpness") * (1.0 + 1e-3)
                && gc >= f("lambda_min") - 1e-3 * f("sharpness").abs(),
            "{r}"
        );
        let a = f("grad_alignment");
        assert!((0.0..=1.0 + 1e-6).contains(&a), "{r}");
    }
}

#[test]
fn resume_after_a_crash_past_the_checkpoint_drops_the_extra_lines() {
    let common = [
        "--sharpness-every",
        "2",
        "--power-iters",
        "4",
        "--eval-every",
        "2",
        "--checkpoint-every",
        "2",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let full = out_dir(&tmp, "full");
    let part = out_dir(&tmp, "part");
    let mut a: Vec<&str> = common.to_vec();
    a.extend(["--steps", "5", "--out", s(&full)]);
    assert_ok(&run_fast(&a));
    let mut b: Vec<&str> = common.to_vec();
    b.extend(["--steps", "5", "--out", s(&part)]);
    assert_ok(&run_fast(&b));
    // Simulate a crash after step 3: the checkpoint is the one of step 2, the metrics go on.
    let mut crashed: Vec<&str> = common.to_vec();
    crashed.extend(["--steps", "2", "--out", s(&part), "--force"]);
    assert_ok(&run_fast(&crashed));
    let ck = std::fs::read(part.join("checkpoint.ckpt")).unwrap();
    let extra: Vec<String> = std::fs::read_to_string(full.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut lines: Vec<String> = std::fs::read_to_string(part.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.push(extra[2].clone());
    lines.push("{\"step\":4,\"epo".to_string()); // torn line
    std::fs::write(part.join("metrics.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(part.join("checkpoint.ckpt"), ck).unwrap();
    let mut c: Vec<&str> = common.to_vec();
    c.extend(["--steps", "5", "--out", s(&part), "--resume"]);
    assert_ok(&run_fast(&c));
    let mf = metrics(&full);
    let mp = metrics(&part);
    assert_eq!(mp.len(), 5);
    for (x, y) in mf.iter().zip(&mp) {
        assert_same_record(x, y);
    }
}

#[test]
fn divergence_stops_cleanly_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "div");
    let o = run_fast(&[
        "--tuner",
        "constant",
        "--lr",
        "5000",
        "--steps",
        "30",
        "--sharpness-every",
        "0",
        "--out",
        s(&dir),
    ]);
    assert_ok(&o);
    assert!(text(&o).contains("diverged"), "{}", text(&o));
    let sm = summary(&dir);
    assert_eq!(sm["diverged"], true);
    assert_eq!(sm["status"], "diverged");
    let at = sm["diverged_at_step"].as_u64().expect("step") as usize;
    assert!(at < 30);
    let m = metrics(&dir);
    assert_eq!(m.len(), at, "every step up to the divergence is kept");
    assert!(dir.join("plots/loss.png").is_file());
}

#[test]
fn sweep_over_learning_rates_writes_tables_and_flags_the_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "sweep");
    let mut args = vec![
        "sweep",
        "--grid",
        "lr",
        "--lr-log2-min",
        "-2",
        "--lr-log2-max",
        "12",
        "--lr-log2-step",
        "7",
    ];
    args.extend_from_slice(FAST);
    args.extend([
        "--steps",
        "6",
        "--sharpness-every",
        "0",
        "--eval-every",
        "0",
        "--no-plots",
        "--out",
        s(&dir),
    ]);
    let o = run(&args);
    assert_ok(&o);
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("run,lr,log2_lr"));
    // lr = 2^12 diverges; lr = 2^-2 is best and at the grid's edge.
    assert!(rows[3].contains("diverged"), "{csv}");
    assert!(rows[1].contains(",yes,"), "{csv}");
    let md = std::fs::read_to_string(dir.join("sweep.md")).unwrap();
    assert!(
        md.contains("Best") && md.contains("lr_2^-2") && md.contains("edge of the grid"),
        "{md}"
    );
    for k in [-2, 5, 12] {
        assert!(dir.join(format!("lr_2^{k}/summary.json")).is_file());
    }
}

#[test]
fn sweep_over_sigma_and_batch_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "sweep2");
    let mut args = vec![
        "sweep",
        "--grid",
        "sigma-batch",
        "--sigmas",
        "1,2",
        "--batch-sizes",
        "128,full",
    ];
    args.extend_from_slice(FAST);
    args.extend([
        "--steps",
        "5",
        "--sharpness-every",
        "0",
        "--eval-every",
        "0",
        "--no-plots",
        "--out",
        s(&dir),
    ]);
    let o = run(&args);
    assert_ok(&o);
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.contains("sigma_1_batch_128") && csv.contains("sigma_2_batch_full"),
        "{csv}"
    );
    assert_eq!(csv.matches(",yes,").count(), 1, "{csv}");
}

#[test]
fn bad_names_are_clear_errors() {
    assert_user_error(
        &run_fast(&["--model", "nope", "--steps", "1"]),
        &["--model", "unknown model `nope`", "mlp"],
    );
    assert_user_error(
        &run_fast(&["--tuner", "nope", "--steps", "1"]),
        &["--tuner", "nope", "cdat"],
    );
    assert_user_error(
        &run_fast(&["--optimizer", "nope", "--steps", "1"]),
        &["--optimizer", "nope", "adam"],
    );
    assert_user_error(
        &run(&["--backend", "nope"]),
        &["--backend", "nope", "ndarray"],
    );
    assert_user_error(&run_fast(&["--dataset", "nope"]), &["--dataset", "nope"]);
}

#[test]
fn bad_numbers_are_clear_errors() {
    assert_user_error(&run_fast(&["--sigma", "0"]), &["sigma", "> 0"]);
    assert_user_error(&run_fast(&["--sigma", "-1"]), &["sigma", "> 0"]);
    assert_user_error(
        &run_fast(&["--tuner", "constant", "--lr", "-0.1"]),
        &["lr", "-0.1"],
    );
    assert_user_error(&run_fast(&["--lr", "0.1"]), &["--lr", "cdat"]);
    assert_user_error(
        &run_fast(&["--batch-size", "0"]),
        &["--batch-size", "at least 1"],
    );
    assert_user_error(
        &run_fast(&["--batch-size", "100000"]),
        &["--batch-size", "larger than the training set"],
    );
    assert_user_error(&run_fast(&["--steps", "0"]), &["--steps"]);
    assert_user_error(
        &run_fast(&["--precision", "f64", "--steps", "1"]),
        &["--precision f64"],
    );
    assert_user_error(
        &run_fast(&["--tuner-set", "nope=1"]),
        &["--tuner-set", "nope"],
    );
    assert_user_error(
        &run_fast(&["--model-set", "nope=1"]),
        &["model", "nope", "hidden"],
    );
}

#[test]
fn missing_data_dir_is_a_clear_error() {
    assert_user_error(
        &run_fast(&["--data-dir", "/nonexistent/cdat-data", "--steps", "1"]),
        &["/nonexistent/cdat-data", "--data-dir"],
    );
    let tmp = tempfile::tempdir().unwrap();
    assert_user_error(
        &run_fast(&["--data-dir", s(tmp.path()), "--steps", "1"]),
        &["--data-dir", "MNIST"],
    );
    assert_user_error(
        &run_fast(&["--dataset", "cifar10", "--steps", "1"]),
        &["--data-dir", "cifar10"],
    );
}

#[test]
fn invalid_config_files_name_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.toml");
    assert_user_error(
        &run(&["--config", s(&missing)]),
        &["missing.toml", "cannot read"],
    );

    let unknown = tmp.path().join("unknown.toml");
    std::fs::write(&unknown, "seed = 1\n\n[train]\nsteps = 3\nstepz = 4\n").unwrap();
    assert_user_error(
        &run(&["--config", s(&unknown)]),
        &["unknown.toml", "line 5", "stepz"],
    );

    let wrong = tmp.path().join("wrong.toml");
    std::fs::write(&wrong, "[tuner]\nname = \"cdat\"\nsigma = \"big\"\n").unwrap();
    assert_user_error(
        &run(&["--config", s(&wrong)]),
        &["wrong.toml", "line 3", "tuner.sigma", "expected f64"],
    );
    let wrong_opt = tmp.path().join("wrong_opt.toml");
    std::fs::write(
        &wrong_opt,
        "seed = 1\n[optimizer]\nname = \"adam\"\nbeta9 = 0.5\n",
    )
    .unwrap();
    assert_user_error(
        &run(&["--config", s(&wrong_opt)]),
        &["wrong_opt.toml", "line 4", "optimizer.beta9"],
    );
    let wrong_name = tmp.path().join("wrong_name.toml");
    std::fs::write(&wrong_name, "[tuner]\nname = \"cdatt\"\n").unwrap();
    assert_user_error(
        &run(&["--config", s(&wrong_name)]),
        &["wrong_name.toml", "line 2", "cdatt"],
    );

    let syntax = tmp.path().join("syntax.toml");
    std::fs::write(&syntax, "[train\nsteps = 3\n").unwrap();
    assert_user_error(&run(&["--config", s(&syntax)]), &["syntax.toml", "line 1"]);

    let negative = tmp.path().join("negative.toml");
    std::fs::write(&negative, "[tuner]\nname = \"cdat\"\nsigma = -2.0\n").unwrap();
    assert_user_error(
        &run(&["--config", s(&negative), "--backend", "ndarray"]),
        &["sigma", "> 0"],
    );
}

#[test]
fn existing_output_folders_are_protected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "run");
    let base = [
        "--steps",
        "2",
        "--sharpness-every",
        "0",
        "--eval-every",
        "0",
        "--no-plots",
    ];
    let mut a: Vec<&str> = base.to_vec();
    a.extend(["--out", s(&dir)]);
    assert_ok(&run_fast(&a));
    // Same config again: a rerun, allowed.
    assert_ok(&run_fast(&a));
    // A different config: refused unless --force.
    let mut b = a.clone();
    b.extend(["--sigma", "1.5"]);
    assert_user_error(
        &run_fast(&b),
        &[
            "--out",
            "different config",
            "tuner.sigma",
            "--resume",
            "--force",
        ],
    );
    b.push("--force");
    assert_ok(&run_fast(&b));
    // A folder that is not a run.
    let other = out_dir(&tmp, "other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let mut c: Vec<&str> = base.to_vec();
    c.extend(["--out", s(&other)]);
    assert_user_error(&run_fast(&c), &["not a cdat-train run folder", "--force"]);
    assert!(other.join("notes.txt").is_file());
    // --resume of a folder without a checkpoint, or with another config.
    let none = out_dir(&tmp, "none");
    let mut d: Vec<&str> = base.to_vec();
    d.extend(["--out", s(&none), "--resume"]);
    assert_user_error(&run_fast(&d), &["--resume", "does not exist"]);
    let mut e: Vec<&str> = base.to_vec();
    e.extend(["--out", s(&dir), "--resume", "--seed", "3"]);
    assert_user_error(&run_fast(&e), &["--resume", "seed"]);
}

#[test]
fn wgpu_without_a_device_fails_clearly_and_auto_falls_back() {
    let small = &FAST[2..]; // without `--backend ndarray`
    let o = bin()
        .args(small)
        .args(["--backend", "wgpu", "--print-config"])
        .output()
        .unwrap();
    assert_ok(&o); // --print-config does not touch the backend
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp, "gpu");
    let o = bin()
        .args(small)
        .args([
            "--backend",
            "wgpu",
            "--steps",
            "1",
            "--sharpness-every",
            "0",
            "--eval-every",
            "0",
            "--no-plots",
            "--out",
            s(&dir),
        ])
        .output()
        .unwrap();
    if !o.status.success() {
        assert_user_error(
            &o,
            &[
                "--backend wgpu",
                "apt-get install mesa-vulkan-drivers",
                "--backend ndarray",
            ],
        );
    }
    let dir = out_dir(&tmp, "auto");
    let o = bin()
        .args(small)
        .args([
            "--backend",
            "auto",
            "--steps",
            "1",
            "--sharpness-every",
            "0",
            "--eval-every",
            "0",
            "--no-plots",
            "--out",
            s(&dir),
        ])
        .env("CDAT_TRAIN_NO_WGPU", "1")
        .output()
        .unwrap();
    assert_ok(&o);
    let t = text(&o);
    assert!(
        t.contains("note: no wgpu device") && t.contains("ndarray"),
        "{t}"
    );
    assert_eq!(t.matches("note:").count(), 1, "one line: {t}");
}

#[test]
fn experiment_configs_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("experiments/") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let o = run(&["--config", s(&path), "--print-config"]);
        assert_ok(&o);
        n += 1;
    }
    assert!(n >= 3, "expected example configs in {}", dir.display());
}

#[test]
fn flags_override_the_config_file_and_print_config_shows_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("c.toml");
    std::fs::write(
        &f,
        "seed = 5\n[tuner]\nname = \"constant\"\nlr = 0.25\n[train]\nsteps = 9\n",
    )
    .unwrap();
    let o = run(&[
        "--config",
        s(&f),
        "--steps",
        "3",
        "--lr",
        "0.5",
        "--print-config",
    ]);
    assert_ok(&o);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        t.contains("seed = 5") && t.contains("steps = 3") && t.contains("lr = 0.5"),
        "{t}"
    );
    assert!(!t.contains("steps = 9"));
}

/// Reads a CSV written by `simulate`: its header and its rows as numbers.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|v| {
                    v.parse::<f64>()
                        .unwrap_or_else(|e| panic!("`{v}` in `{l}`: {e}"))
                })
                .collect::<Vec<f64>>()
        })
        .collect();
    (header, rows)
}

#[test]
fn simulate_writes_csvs_plots_and_a_summary() {
    let o = run(&["simulate", "--help"]);
    assert_ok(&o);
    let t = text(&o);
    for flag in ["--out", "--steps", "summary.csv"] {
        assert!(t.contains(flag), "simulate --help lacks {flag}:\n{t}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "sim");
    let o = run(&["simulate", "--out", s(&out), "--steps", "300"]);
    assert_ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let scenarios = ["constant-eta", "fixed-y", "cdat-sigma-2", "cdat-sigma-1.9"];
    for name in scenarios {
        assert!(
            stdout.contains(name) && stdout.contains("final λ"),
            "summary lacks {name}:\n{stdout}"
        );
        for ext in ["png", "svg"] {
            let p = out.join(format!("{name}.{ext}"));
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            assert!(len > 1000, "{} missing or empty", p.display());
        }
        let (header, rows) = read_csv(&out.join(format!("{name}.csv")));
        assert_eq!(&header[..3], ["t", "eta", "lambda"], "{name}");
        assert_eq!(header[3], "x", "{name}");
        assert_eq!(header.last().unwrap(), "y", "{name}");
        assert_eq!(rows.len(), 301, "{name}: t = 0..=300");
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.len(), header.len(), "{name} row {i}");
            assert_eq!(r[0], i as f64, "{name} row {i}");
            assert!(r.iter().all(|v| v.is_finite()), "{name} row {i}: {r:?}");
            // y = η λ − 2.
            let y = *r.last().unwrap();
            assert!((y - (r[1] * r[2] - 2.0)).abs() < 1e-9, "{name} row {i}");
        }
    }
    // The fixed-y tuner holds y = −0.1 while λ grows; CDAT σ = 2 stays near y = 0.
    let (_, rows) = read_csv(&out.join("fixed-y.csv"));
    assert!(rows.iter().all(|r| (r[4] + 0.1).abs() < 1e-9));
    assert!(rows[300][2] > 5.0 * rows[0][2]);
    let (_, rows) = read_csv(&out.join("cdat-sigma-2.csv"));
    assert!(rows[1..].iter().all(|r| r.last().unwrap().abs() < 0.01));
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(lines[0].starts_with("scenario,"), "{summary}");
    for (line, name) in lines[1..].iter().zip(scenarios) {
        assert!(line.starts_with(&format!("{name},300,false,")), "{summary}");
    }
    // --steps 0 is an input error, not a crash.
    let o = run(&["simulate", "--out", s(&out), "--steps", "0"]);
    assert_user_error(&o, &["--steps"]);
}

/// A two-suite plan on the embedded MNIST subset: a constant-η grid, the greedy tuner and CDAT
/// in full batch; a σ × batch grid in mini batch.
const TINY_PLAN: &str = r#"
seeds = [0, 1]
quick = ["--steps", "4", "--sharpness-every", "2", "--power-iters", "3", "--eval-every", "2", "--no-plots"]

[[suite]]
name = "full"
title = "tiny full batch"
config = "base.toml"
run = [
  { name = "gd-constant", args = "--tuner constant", lr_log2 = [-3, -2] },
  { name = "gd-greedy", args = "--tuner greedy" },
  { name = "gd-cdat", args = "--tuner cdat", grid = { "--sigma" = [1.0, 2.0] } },
]

[[suite]]
name = "mini"
title = "tiny mini batch"
config = "base.toml"
run = [
  { name = "cdat", args = "--tuner cdat", grid = { "--batch-size" = [32, 64], "--sigma" = [1.0, 2.0] } },
]
"#;

const TINY_BASE: &str = r#"
backend = "ndarray"
[data]
dataset = "mnist"
train_subset = 128
test_subset = 64
[model]
name = "mlp"
[model.config]
hidden = [16]
"#;

#[test]
fn reproduce_runs_a_plan_and_writes_the_report_from_the_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan.toml");
    std::fs::write(&plan, TINY_PLAN).unwrap();
    std::fs::write(tmp.path().join("base.toml"), TINY_BASE).unwrap();
    let out = out_dir(&tmp, "runs");
    let args = [
        "reproduce",
        "--plan",
        s(&plan),
        "--quick",
        "--out",
        s(&out),
        "--no-progress",
    ];
    let o = run(&args);
    assert_ok(&o);
    // Progress before each run: runs done and to train, time spent and left.
    let log = text(&o);
    assert!(
        log.contains(
            "[1/18] full/gd-constant_lr2^-3_seed0: 0 of 18 runs done, 18 to train; elapsed"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "[18/18] mini/cdat_batch-size64_sigma2.0_seed1: 17 of 18 runs done, 1 to train"
        ),
        "{log}"
    );
    // Every run of both suites and seeds has its folder, archived: config, summary and the
    // compressed records, nothing else.
    for run in [
        "full/gd-constant_lr2^-3",
        "full/gd-constant_lr2^-2",
        "full/gd-greedy",
        "full/gd-cdat_sigma1.0",
        "full/gd-cdat_sigma2.0",
        "mini/cdat_batch-size32_sigma1.0",
        "mini/cdat_batch-size64_sigma2.0",
    ] {
        for seed in [0, 1] {
            let dir = out.join(format!("{run}_seed{seed}"));
            assert_eq!(metrics(&dir).len(), 4, "{run}: 4 steps of metrics");
            let mut kept: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            kept.sort();
            assert_eq!(
                kept,
                ["config.toml", "metrics.jsonl.gz", "summary.json"],
                "{run}"
            );
            let cfg = std::fs::read_to_string(dir.join("config.toml")).unwrap();
            assert!(cfg.contains(&format!("seed = {seed}")), "{cfg}");
        }
    }
    // The options of the plan reached the runs.
    let cfg =
        std::fs::read_to_string(out.join("mini/cdat_batch-size32_sigma1.0_seed0/config.toml"))
            .unwrap();
    assert!(cfg.contains("batch_size = 32"), "{cfg}");
    assert!(cfg.contains("sigma = 1.0"), "{cfg}");
    // The report, the tables, the claims and the plots.
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    for claim in ["C1", "C2", "C3", "C4", "C5", "C6", "C7"] {
        assert!(
            report.contains(&format!("| {claim} |")),
            "report lacks {claim}:\n{report}"
        );
    }
    assert!(report.contains("Quick mode"), "{report}");
    let results = out.join("results");
    let runs_csv = std::fs::read_to_string(results.join("runs.csv")).unwrap();
    assert_eq!(runs_csv.lines().count(), 1 + 2 * 9, "{runs_csv}");
    // The greedy tuner's final loss ratio in the C1 table is the mean over seeds of the ratios
    // of the summaries' numbers, the tuned constant chosen per seed.
    let last5 = |run: &str, seed: u32| {
        summary(&out.join(format!("{run}_seed{seed}")))["last5_mean_loss"]
            .as_f64()
            .unwrap()
    };
    let ratio = |seed| {
        let best =
            last5("full/gd-constant_lr2^-3", seed).min(last5("full/gd-constant_lr2^-2", seed));
        last5("full/gd-greedy", seed) / best
    };
    let (r0, r1) = (ratio(0), ratio(1));
    let cell = format!(
        "{:.3} [{:.3}, {:.3}]",
        (r0 + r1) / 2.0,
        r0.min(r1),
        r0.max(r1)
    );
    assert!(
        report.contains(&cell),
        "C1 cell {cell} not in the report:\n{report}"
    );
    for f in [
        "claims.csv",
        "full/loss.png",
        "full/lr_sharpness.png",
        "full/edge.png",
        "mini/sigma_batch.png",
        "dynamics/cdat-sigma-2.csv",
    ] {
        assert!(results.join(f).is_file(), "missing results/{f}");
    }
    // A second invocation finds every run done and only rebuilds the report.
    let o = run(&args);
    assert_ok(&o);
    assert!(text(&o).contains("already done"), "{}", text(&o));
}

#[test]
fn reproduce_rejects_bad_plans_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan.toml");
    std::fs::write(&plan, "[[suite]]\nname = \"x\"\n").unwrap();
    let o = run(&["reproduce", "--plan", s(&plan), "--report-only"]);
    assert_user_error(&o, &["--plan", "plan.toml"]);
    std::fs::write(&plan, TINY_PLAN.replace("--tuner greedy", "--tuner nope")).unwrap();
    std::fs::write(tmp.path().join("base.toml"), TINY_BASE).unwrap();
    let o = run(&["reproduce", "--plan", s(&plan), "--report-only"]);
    assert_user_error(&o, &["suite `full` run `gd-greedy_seed0`", "nope"]);
    let o = run(&["reproduce", "--plan", s(&plan), "--only", "missing"]);
    assert_user_error(&o, &["--only", "missing", "full, mini"]);
}

#[test]
fn the_paper_plan_resolves() {
    // Every run of experiments/paper/plan.toml is a valid configuration (checked without data).
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/paper/plan.toml");
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "reproduce",
        "--plan",
        s(&plan),
        "--report-only",
        "--out",
        s(&out_dir(&tmp, "runs")),
        "--results",
        s(&out_dir(&tmp, "results")),
        "--report",
        s(&out_dir(&tmp, "REPORT.md")),
    ]);
    assert_ok(&o);
    assert!(out_dir(&tmp, "REPORT.md").is_file());
}
