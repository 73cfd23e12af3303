//! `cdat-train sweep`: a grid of runs, one folder each, and a summary table with the paper's
//! selection rule (best = lowest mean training loss over the last 5 steps; flagged when the
//! best sits at the edge of the grid).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::sweep::{GridKind, SweepArgs};
use crate::run::config::{set_field, RunConfig};
use crate::run::data::RunData;
use crate::run::error::{self, Interrupted, UserError};
use crate::run::execute::{self as run, RunOptions};
use crate::run::metrics::Summary;
use crate::run::{checkpoint, interrupt, tuner_setup};

/// One grid point.
#[derive(Clone, Debug)]
struct Point {
    name: String,
    /// Position on each axis and the axis lengths.
    coords: Vec<(usize, usize)>,
    lr_log2: Option<i32>,
    sigma: Option<f64>,
    batch: Option<Option<usize>>,
    config: RunConfig,
}

/// One row of the table.
#[derive(Clone, Debug)]
struct Row {
    point: Point,
    summary: Option<Summary>,
    error: Option<String>,
    dir: PathBuf,
}

/// Runs the sweep; returns the text printed at the end.
pub fn run_sweep(args: &SweepArgs) -> Result<String> {
    let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
    if args.train.resume {
        return Err(user(
            "sweep: --resume is not supported; rerun the sweep (same config folders are reused)"
                .into(),
        ));
    }
    let base = args.train.resolve()?;
    let root = base.output.dir.clone().unwrap_or_else(|| {
        run::unique(Path::new("runs").join(format!("sweep-{}", run::timestamp())))
    });
    let points = grid(args, &base, &root)?;
    let data = RunData::load(&base)?;
    let mut prepared = Vec::new();
    for p in &points {
        let prep = run::prepare(p.config.clone(), &data, |_| unreachable!("output dir set"))
            .map_err(|e| anyhow::anyhow!("grid point {}: {e:#}", p.name))
            .map_err(|e| user(format!("{e:#}")))?;
        prepared.push(prep);
    }
    if root.exists() && !root.is_dir() {
        return Err(user(format!(
            "--out `{}` exists and is not a folder",
            root.display()
        )));
    }
    std::fs::create_dir_all(&root)?;
    let backend = run::resolve_backend(&base)?;
    let opts = RunOptions {
        resume: false,
        force: args.train.force,
        progress: !args.train.no_progress,
    };
    let mut rows = Vec::new();
    for (i, (p, prep)) in points.iter().zip(&prepared).enumerate() {
        let dir = prep.config.output.dir.clone().unwrap_or_default();
        if let Some(signal) = interrupt::requested() {
            return Err(anyhow::Error::new(Interrupted { signal })
                .context(format!("sweep stopped before grid point {}", p.name)));
        }
        eprintln!("[{}/{}] {}", i + 1, points.len(), p.name);
        let row = match run::execute(prep, &data, &backend, opts) {
            Ok(r) if r.interrupted_by.is_some() => {
                let signal = r.interrupted_by.unwrap_or_default();
                return Err(anyhow::Error::new(Interrupted { signal }).context(format!(
                    "sweep stopped during grid point {} (its checkpoint is in {})",
                    p.name,
                    dir.display()
                )));
            }
            Ok(r) => {
                let s = &r.summary;
                eprintln!(
                    "      {}{}",
                    s.status,
                    s.last5_mean_loss.map_or(String::new(), |l| format!(
                        ", mean loss of last 5 steps {l:.4}"
                    ))
                );
                Row {
                    point: p.clone(),
                    summary: Some(r.summary),
                    error: None,
                    dir,
                }
            }
            Err(e) if error::exit_code(&e) == error::EXIT_USAGE => return Err(e),
            Err(e) => {
                eprintln!("      failed: {e:#}");
                Row {
                    point: p.clone(),
                    summary: None,
                    error: Some(format!("{e:#}")),
                    dir,
                }
            }
        };
        rows.push(row);
        write_tables(&root, args.grid, &rows)?;
    }
    let md = write_tables(&root, args.grid, &rows)?;
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} sweep runs failed; see {}/sweep.md",
            rows.len(),
            root.display()
        );
    }
    Ok(format!(
        "{md}\nSweep files: {}/sweep.csv, {}/sweep.md",
        root.display(),
        root.display()
    ))
}

fn grid(args: &SweepArgs, base: &RunConfig, root: &Path) -> Result<Vec<Point>> {
    let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
    let mut points = Vec::new();
    match args.grid {
        GridKind::Lr => {
            if args.lr_log2_min > args.lr_log2_max || args.lr_log2_step == 0 {
                return Err(user(
                    "sweep: need --lr-log2-min <= --lr-log2-max and --lr-log2-step >= 1".into(),
                ));
            }
            let ks: Vec<i32> = (args.lr_log2_min..=args.lr_log2_max)
                .step_by(args.lr_log2_step as usize)
                .collect();
            let tuner = match tuner_setup::lr_key(&base.tuner) {
                Some(_) => base.tuner.clone(),
                None if args.train.tuner.is_none() => tuner_setup::default_tuner("constant")?,
                None => {
                    return Err(user(format!(
                        "sweep --grid lr: tuner `{}` has no learning rate to sweep over",
                        base.tuner.name()
                    )))
                }
            };
            let lr_key = tuner_setup::lr_key(&tuner).unwrap_or("lr");
            for (i, &k) in ks.iter().enumerate() {
                let mut cfg = base.clone();
                cfg.tuner = set_field(
                    &tuner,
                    lr_key,
                    toml::Value::Float(2f64.powi(k)),
                    "sweep --grid lr",
                )?;
                cfg.horizon_from_run =
                    base.horizon_from_run && tuner_setup::has_horizon(&cfg.tuner);
                let name = format!("lr_2^{k}");
                cfg.output.dir = Some(root.join(&name));
                points.push(Point {
                    name,
                    coords: vec![(i, ks.len())],
                    lr_log2: Some(k),
                    sigma: None,
                    batch: None,
                    config: cfg,
                });
            }
        }
        GridKind::SigmaBatch => {
            let tuner = tuner_with_key(
                base,
                tuner_setup::SIGMA_KEY,
                "cdat",
                args.train.tuner.is_some(),
            )?;
            let batches: Vec<Option<usize>> = args
                .batch_sizes
                .iter()
                .map(|b| match b.trim() {
                    "full" => Ok(None),
                    s => s.parse::<usize>().map(Some).map_err(|_| {
                        user(format!("--batch-sizes: `{s}` is not a number or `full`"))
                    }),
                })
                .collect::<Result<_>>()?;
            if args.sigmas.is_empty() || batches.is_empty() {
                return Err(user(
                    "sweep: --sigmas and --batch-sizes need at least one value each".into(),
                ));
            }
            for (i, &s) in args.sigmas.iter().enumerate() {
                for (j, &b) in batches.iter().enumerate() {
                    let mut cfg = base.clone();
                    cfg.tuner = set_field(
                        &tuner,
                        tuner_setup::SIGMA_KEY,
                        toml::Value::Float(s),
                        "--sigmas",
                    )?;
                    cfg.horizon_from_run = false;
                    cfg.train.batch_size = b;
                    let name = format!(
                        "sigma_{s}_batch_{}",
                        b.map_or("full".to_string(), |b| b.to_string())
                    );
                    cfg.output.dir = Some(root.join(&name));
                    points.push(Point {
                        name,
                        coords: vec![(i, args.sigmas.len()), (j, batches.len())],
                        lr_log2: None,
                        sigma: Some(s),
                        batch: Some(b),
                        config: cfg,
                    });
                }
            }
        }
    }
    Ok(points)
}

/// The base tuner if it has `key`, else the default `fallback` tuner (unless `--tuner` was
/// given explicitly: then it is an error).
fn tuner_with_key(
    base: &RunConfig,
    key: &str,
    fallback: &str,
    explicit: bool,
) -> Result<tuner_setup::TunerConfig> {
    let has = toml::Value::try_from(&base.tuner)
        .ok()
        .and_then(|v| v.get(key).cloned())
        .is_some();
    if has {
        return Ok(base.tuner.clone());
    }
    if explicit {
        return Err(UserError::new(format!(
            "sweep: tuner `{}` has no `{key}` to sweep over",
            tuner_setup::variant_name(&base.tuner).unwrap_or_default()
        ))
        .into());
    }
    tuner_setup::default_tuner(fallback)
}

/// Index of the best row: lowest mean training loss over the last 5 steps, among runs that
/// completed.
fn best(rows: &[Row]) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.summary
                .as_ref()
                .and_then(|s| s.last5_mean_loss)
                .map(|l| (i, l))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Writes sweep.csv and sweep.md; returns the markdown.
fn write_tables(root: &Path, kind: GridKind, rows: &[Row]) -> Result<String> {
    let best = best(rows);
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
    let mut csv = String::from(
        "run,lr,log2_lr,sigma,batch_size,status,diverged_at_step,last5_mean_loss,final_loss,best_loss,final_test_accuracy,mean_lr,final_sharpness,time_s,best,folder\n",
    );
    let mut md = String::new();
    let _ = writeln!(md, "| run | status | mean loss, last 5 steps | final loss | test acc | mean η | last λmax | time (s) | best |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for (i, r) in rows.iter().enumerate() {
        let s = r.summary.clone().unwrap_or_default();
        let status = match (&r.error, s.diverged) {
            (Some(_), _) => "failed".to_string(),
            (None, true) => format!("diverged at step {}", s.diverged_at_step.unwrap_or(0)),
            (None, false) => "completed".to_string(),
        };
        let is_best = best == Some(i);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.2},{},{}",
            r.point.name,
            r.point
                .lr_log2
                .map_or(String::new(), |k| format!("{}", 2f64.powi(k))),
            r.point.lr_log2.map_or(String::new(), |k| k.to_string()),
            r.point.sigma.map_or(String::new(), |s| s.to_string()),
            r.point.batch.map_or(String::new(), |b| b
                .map_or("full".into(), |b| b.to_string())),
            if r.error.is_some() {
                "failed"
            } else {
                &s.status
            },
            s.diverged_at_step.map_or(String::new(), |x| x.to_string()),
            opt(s.last5_mean_loss),
            opt(s.final_loss),
            opt(s.best_loss),
            opt(s.final_test_accuracy),
            opt(s.mean_lr),
            opt(s.final_sharpness),
            s.total_time_s,
            if is_best { "yes" } else { "" },
            r.dir.display()
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            r.point.name,
            status,
            s.last5_mean_loss.map_or("-".into(), |v| format!("{v:.4}")),
            s.final_loss.map_or("-".into(), |v| format!("{v:.4}")),
            s.final_test_accuracy
                .map_or("-".into(), |v| format!("{:.1}%", 100.0 * v)),
            s.mean_lr.map_or("-".into(), |v| format!("{v:.3e}")),
            s.final_sharpness.map_or("-".into(), |v| format!("{v:.2}")),
            s.total_time_s,
            if is_best { "**best**" } else { "" }
        );
    }
    let _ = writeln!(md);
    match best {
        Some(b) => {
            let r = &rows[b];
            let loss = r
                .summary
                .as_ref()
                .and_then(|s| s.last5_mean_loss)
                .unwrap_or(f64::NAN);
            let _ = writeln!(
                md,
                "Best (lowest mean training loss over the last 5 steps): **{}** ({loss:.4}).",
                r.point.name
            );
            let edges: Vec<&str> = r
                .point
                .coords
                .iter()
                .enumerate()
                .filter(|(_, (i, n))| *n > 1 && (*i == 0 || *i + 1 == *n))
                .map(|(axis, _)| match (kind, axis) {
                    (GridKind::Lr, _) => "learning rate",
                    (GridKind::SigmaBatch, 0) => "sigma",
                    _ => "batch size",
                })
                .collect();
            if !edges.is_empty() {
                let _ = writeln!(
                    md,
                    "\nWARNING: the best point lies at the edge of the grid ({}): extend the grid past it.",
                    edges.join(", ")
                );
            }
        }
        None => {
            let _ = writeln!(md, "No run completed without diverging: no best point.");
        }
    }
    checkpoint::write_atomically(&root.join("sweep.csv"), csv.as_bytes())?;
    checkpoint::write_atomically(&root.join("sweep.md"), md.as_bytes())?;
    Ok(md)
}
