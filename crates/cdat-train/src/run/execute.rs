//! One run from a resolved configuration: input checks, output folder, backend, training.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cdat_models::ModelConfig;

use crate::run::backend::{self, Resolved};
use crate::run::checkpoint::{self, Checkpoint, CheckpointState};
use crate::run::config::RunConfig;
use crate::run::data::{resolve_model_config, RunData};
use crate::run::error::UserError;
use crate::run::lock::{self, RunLock};
use crate::run::metrics;
use crate::run::reserve;
use crate::run::training::job::{ResumeFrom, RunResult, TrainJob};
use crate::run::tuner_setup;

/// Files a run writes into its folder (what `--force` removes).
pub const RUN_FILES: &[&str] = &[
    "config.toml",
    "model.json",
    "metrics.jsonl",
    "summary.json",
    checkpoint::FILE_NAME,
    reserve::FILE_NAME,
];

/// How to treat an existing output folder.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Continue from the folder's checkpoint.
    pub resume: bool,
    /// Replace a run of a different config.
    pub force: bool,
    /// Show the progress bar.
    pub progress: bool,
}

/// A configuration checked against its data, ready to train.
pub struct Prepared {
    /// The configuration (with `output.dir` set).
    pub config: RunConfig,
    /// The model's full configuration.
    pub model_config: ModelConfig,
}

/// Checks the configuration and that it fits the data.
pub fn prepare(
    mut config: RunConfig,
    data: &RunData,
    default_out: impl FnOnce(&RunConfig) -> PathBuf,
) -> Result<Prepared> {
    config.validate()?;
    let model_config = resolve_model_config(&config.model, &data.spec(), config.data.block_size)?;
    if let Some(bs) = config.train.batch_size {
        if bs > data.train_len() {
            return Err(UserError::new(format!(
                "--batch-size / train.batch_size {bs} is larger than the training set ({} examples)",
                data.train_len()
            ))
            .into());
        }
    }
    if config.horizon_from_run {
        let batches_per_epoch = config
            .train
            .batch_size
            .map_or(1, |b| data.train_len() / b.max(1));
        let steps = config.total_steps(batches_per_epoch);
        tuner_setup::set_horizon(&mut config.tuner, steps);
        config.horizon_from_run = false;
    }
    if config.output.dir.is_none() {
        config.output.dir = Some(default_out(&config));
    }
    Ok(Prepared {
        config,
        model_config,
    })
}

/// `runs/<yyyymmdd>-<hhmmss>-<model>-<tuner>` (UTC), made unique with a suffix if taken.
pub fn default_out_dir(config: &RunConfig) -> PathBuf {
    let tuner = tuner_setup::variant_name(&config.tuner).unwrap_or_else(|| "run".into());
    unique(Path::new("runs").join(format!("{}-{}-{}", timestamp(), config.model.name, tuner)))
}

/// `base`, or `base-2`, `base-3`, ... whichever does not exist yet.
pub fn unique(base: PathBuf) -> PathBuf {
    if !base.exists() {
        return base;
    }
    (2..)
        .map(|i| PathBuf::from(format!("{}-{i}", base.display())))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

/// The current UTC time as `yyyymmdd-hhmmss`.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Makes `dir` ready for a run of `config`:
/// - `resume`: it must hold a config equal up to run length and checkpointing, or nothing yet;
///   without a checkpoint the run starts over from step 0 (said on stderr);
/// - otherwise it must not exist, be empty, hold a previous run of the same config (rerun from
///   scratch), or `force` must be given (its run files are removed).
///
/// Returns whether the run continues from the folder's checkpoint.
pub fn prepare_out_dir(config: &RunConfig, dir: &Path, opts: RunOptions) -> Result<bool> {
    let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
    let saved_config = || -> Result<Option<RunConfig>> {
        let path = dir.join("config.toml");
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(RunConfig::from_toml_str(&text).ok())
    };
    // Nothing but the lock and the reserve (a run that failed before writing anything).
    let empty = || -> Result<bool> {
        Ok(std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .all(|e| e.file_name() == lock::FILE_NAME || e.file_name() == reserve::FILE_NAME))
    };
    if opts.resume {
        if !dir.is_dir() {
            return Err(user(format!(
                "--resume: output folder `{}` does not exist",
                dir.display()
            )));
        }
        let Some(saved) = saved_config()? else {
            if empty()? {
                eprintln!(
                    "--resume: `{}` holds no run yet (it stopped before writing config.toml): \
                     starting it from step 0",
                    dir.display()
                );
                return Ok(false);
            }
            return Err(user(format!(
                "--resume: `{}` has no readable config.toml, so it cannot be told which run it \
                 holds; start the run over there with --force instead of --resume",
                dir.display()
            )));
        };
        let diff = saved
            .resume_identity()
            .differing_keys(&config.resume_identity());
        if !diff.is_empty() {
            return Err(user(format!(
                "--resume: the run in `{}` was made with a different config (keys that differ: {}); \
                 only the run length (--steps/--epochs), --checkpoint-every and --backend may change",
                dir.display(),
                diff.join(", ")
            )));
        }
        let has_checkpoint = dir.join(checkpoint::FILE_NAME).is_file();
        if !has_checkpoint {
            // A run that stopped (failed, interrupted, killed) before its first checkpoint:
            // its configuration matches, so it starts over in its own folder.
            let records = std::fs::read_to_string(dir.join("metrics.jsonl"))
                .map_or(0, |t| t.lines().filter(|l| !l.trim().is_empty()).count());
            eprintln!(
                "--resume: `{}` holds no {} yet (the run stopped before its first checkpoint): \
                 starting it over from step 0; the {records} line(s) of metrics.jsonl are \
                 replaced",
                dir.display(),
                checkpoint::FILE_NAME
            );
        }
        return Ok(has_checkpoint);
    }
    if dir.exists() && !dir.is_dir() {
        return Err(user(format!(
            "--out `{}` exists and is not a folder",
            dir.display()
        )));
    }
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating output folder {}", dir.display()))?;
        return Ok(false);
    }
    if !empty()? && !opts.force {
        match saved_config()? {
            Some(saved) => {
                let diff = saved.identity().differing_keys(&config.identity());
                if !diff.is_empty() {
                    return Err(user(format!(
                        "--out `{}` holds a run of a different config (keys that differ: {}); \
                         use --resume to continue it, --force to replace it, or another --out",
                        dir.display(),
                        diff.join(", ")
                    )));
                }
            }
            None => {
                return Err(user(format!(
                "--out `{}` exists and is not a cdat-train run folder (no readable config.toml); \
                     use --force to write into it anyway, or another --out",
                dir.display()
            )))
            }
        }
    }
    for f in RUN_FILES {
        let p = dir.join(f);
        if p.is_file() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    let plots = dir.join("plots");
    if plots.is_dir() {
        std::fs::remove_dir_all(&plots).with_context(|| format!("removing {}", plots.display()))?;
    }
    Ok(false)
}

/// Trains one prepared run on a resolved backend, writing into its output folder.
///
/// The folder is locked for the run ([`RunLock`]: a second run on it is refused), and
/// everything a resumed run depends on (the checkpoint's checksum and configuration hash, the
/// step records up to it) is verified before anything in the folder is written.
pub fn execute(
    prepared: &Prepared,
    data: &RunData,
    backend: &Resolved,
    opts: RunOptions,
) -> Result<RunResult> {
    let dir = prepared
        .config
        .output
        .dir
        .clone()
        .context("output folder not set")?;
    if !opts.resume {
        if dir.exists() && !dir.is_dir() {
            return Err(UserError::new(format!(
                "--out `{}` exists and is not a folder",
                dir.display()
            ))
            .into());
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating output folder {}", dir.display()))?;
    } else if !dir.is_dir() {
        return Err(UserError::new(format!(
            "--resume: output folder `{}` does not exist",
            dir.display()
        ))
        .into());
    }
    let _lock = RunLock::acquire(&dir, "--out", &mut |m| eprintln!("{m}"))?;
    let resume = if prepare_out_dir(&prepared.config, &dir, opts)? {
        Some(resume_point(&prepared.config, &dir)?)
    } else {
        None
    };
    checkpoint::write_atomically(
        &dir.join("config.toml"),
        config_file_text(&prepared.config)?.as_bytes(),
    )?;
    checkpoint::write_atomically(
        &dir.join("model.json"),
        serde_json::to_string_pretty(&prepared.model_config)?.as_bytes(),
    )?;
    backend::dispatch(
        backend,
        TrainJob {
            config: &prepared.config,
            model_config: &prepared.model_config,
            data,
            out_dir: &dir,
            resume,
            progress: opts.progress,
        },
    )
}

/// Reads and verifies what `--resume` continues from: the checkpoint (checksum), that it
/// belongs to this configuration (hash of the resolved config, so an edited `config.toml` is
/// caught), and the step records up to it. Writes nothing.
pub fn resume_point(config: &RunConfig, dir: &Path) -> Result<ResumeFrom> {
    let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
    let path = dir.join(checkpoint::FILE_NAME);
    let ckpt = Checkpoint::load(&path)?;
    let state: CheckpointState = ckpt
        .get("state.json")
        .ok_or_else(|| {
            user(format!(
                "checkpoint `{}` has no state.json section",
                path.display()
            ))
        })
        .and_then(|b| {
            serde_json::from_slice(b).map_err(|e| {
                user(format!(
                    "checkpoint `{}`: its state.json is not valid: {e}",
                    path.display()
                ))
            })
        })?;
    let hash = checkpoint::config_hash(config)?;
    if state.config_hash != hash {
        let keys = ckpt
            .get("config.toml")
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| RunConfig::from_toml_str(t).ok())
            .map(|saved| saved.differing_keys(&config.resume_identity()))
            .filter(|k| !k.is_empty())
            .map_or(String::new(), |k| {
                format!(" (keys that differ: {})", k.join(", "))
            });
        return Err(user(format!(
            "--resume: checkpoint `{}` was written by a run with a different configuration than \
             the one given now{keys}: `{}` was edited after the checkpoint was written, or the \
             checkpoint belongs to another run (configuration hash {} in the checkpoint, {} now); \
             restore the configuration, or start the run over with --force",
            path.display(),
            dir.join("config.toml").display(),
            short(&state.config_hash),
            short(&hash)
        )));
    }
    let read = metrics::records_for_resume(&dir.join("metrics.jsonl"), state.step)?;
    if read.dropped_lines > 0 {
        eprintln!(
            "--resume: continuing from the checkpoint of step {}; the {} line(s) after step {} in \
             metrics.jsonl (written after that checkpoint) are dropped and those steps redone",
            state.step, read.dropped_lines, state.step
        );
    }
    Ok(ResumeFrom {
        checkpoint: ckpt,
        state,
        records: read.records,
        lines: read.lines,
    })
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The text of a run's `config.toml`.
pub fn config_file_text(config: &RunConfig) -> Result<String> {
    Ok(format!(
        "# Resolved configuration of a cdat-train run (defaults < --config file < options).\n\
         # Repeat the run with: cdat-train --config <this file> --out <new folder>\n\n{}",
        config.to_toml_string()?
    ))
}

/// Resolves the backend, printing the fallback notice to stderr.
pub fn resolve_backend(config: &RunConfig) -> Result<Resolved> {
    backend::resolve(config.backend, config.precision, &mut |msg| {
        eprintln!("{msg}")
    })
}

/// A one-paragraph report of a finished run for the terminal. It lists the files the run left
/// in its folder (no checkpoint when none was written, no plots with `--no-plots`).
pub fn report(result: &RunResult) -> String {
    let s = &result.summary;
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
    let num = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let head = if s.diverged {
        format!(
            "Run diverged at step {} ({}); the metrics up to it are kept.",
            s.diverged_at_step.unwrap_or(0),
            s.divergence_reason.as_deref().unwrap_or("")
        )
    } else if let Some(sig) = result.interrupted_by {
        let resume = match result.checkpoint_step {
            Some(step) => format!(
                "checkpoint of step {step} written; continue with the same options and --resume \
                 --out {}",
                result.out_dir.display()
            ),
            None => "no step was finished, so there is no checkpoint".to_string(),
        };
        format!(
            "Run interrupted by {} after {} of {} steps ({:.1} s on {}); {resume}.",
            crate::run::interrupt::signal_name(sig),
            s.steps_recorded,
            s.steps_planned,
            s.total_time_s,
            s.backend
        )
    } else {
        format!(
            "Run completed: {} steps in {:.1} s on {}.",
            s.steps_recorded, s.total_time_s, s.backend
        )
    };
    let files: Vec<String> = result
        .files
        .iter()
        .map(|f| match (f.as_str(), result.checkpoint_step) {
            (checkpoint::FILE_NAME, Some(step)) => format!("{f} (step {step})"),
            _ => f.clone(),
        })
        .collect();
    format!(
        "{head}\n  final loss {} (mean of last 5: {}), train acc {}, test acc {}, last λmax {}, last η {}\n  \
         files: {}/ ({})",
        num(s.final_loss),
        num(s.last5_mean_loss),
        pct(s.final_train_accuracy),
        pct(s.final_test_accuracy),
        num(s.final_sharpness),
        s.final_lr.map_or("-".to_string(), |v| format!("{v:.4e}")),
        result.out_dir.display(),
        files.join(", ")
    )
}
