//! `cdat-train reproduce`: runs the experiments of a reproduction plan (see [`super::plan`]),
//! one output folder per run, then writes the report (tables, plots, `REPORT.md`) from the
//! runs' `metrics.jsonl` (see [`super::report`]).
//!
//! Runs whose folder already holds a `summary.json` of the same configuration are not run
//! again, so an interrupted reproduction continues where it stopped (an interrupted run starts
//! over). Each finished run is archived ([`super::archive`]) to the files the repository keeps.
//! Before each run the progress is printed: runs done and to train, time spent, and an estimate
//! of the time left from the suites' `expected_minutes` scaled by the time the runs trained so
//! far took against their estimate.

use std::path::Path;

use anyhow::{Context, Result};

use super::archive::archive_run;
use super::plan::{resolve_run, Layout, Plan, PlannedRun, Suite};
use super::report::write_report;
use crate::cli::reproduce::ReproduceArgs;
use crate::run::config::RunConfig;
use crate::run::data::RunData;
use crate::run::error::{Interrupted, UserError};
use crate::run::execute::{self as run, RunOptions};
use crate::run::interrupt;
use crate::run::metrics::{finished_summary, Summary};

/// Whether `dir` holds a finished run (summary written) of `config`.
fn finished_run(dir: &Path, config: &RunConfig) -> Option<Summary> {
    let saved = RunConfig::from_file(&dir.join("config.toml")).ok()?;
    if !saved
        .identity()
        .differing_keys(&config.identity())
        .is_empty()
    {
        return None;
    }
    finished_summary(dir)
}

/// `cdat-train reproduce`: runs the plan, then writes the report; returns the text printed at
/// the end.
pub fn run_reproduce(args: &ReproduceArgs) -> Result<String> {
    let plan_file = args.plan_file();
    let plan = Plan::from_file(&plan_file)?.for_mode(args.quick);
    let plan_dir = plan_file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let layout = Layout::of(args);
    for name in &args.only {
        if !plan.suite.iter().any(|s| &s.name == name) {
            return Err(UserError::new(format!(
                "--only: no suite `{name}` in `{}` (suites: {})",
                plan_file.display(),
                plan.suite
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    // Resolve every run first, so that a mistake in the plan stops before hours of training.
    let mut work: Vec<(&Suite, PlannedRun, RunConfig)> = Vec::new();
    for suite in &plan.suite {
        if !args.only.is_empty() && !args.only.contains(&suite.name) {
            continue;
        }
        for run in plan.runs(suite) {
            let config = resolve_run(&plan_dir, suite, &run, args, &plan, &layout)?;
            config.validate()?;
            work.push((suite, run, config));
        }
    }
    if !args.report_only {
        train_all(&plan, &work, args)?;
    }
    let text = write_report(&plan, &layout, args.profile, args.quick)?;
    Ok(text)
}

/// Expected seconds of one run of `suite` (its `expected_minutes` over its runs), if stated.
fn expected_s(plan: &Plan, suite: &Suite) -> Option<f64> {
    let runs = plan.runs(suite).len().max(1);
    suite.expected_minutes.map(|m| 60.0 * m / runs as f64)
}

/// "3 min" / "2.5 h".
fn duration(s: f64) -> String {
    if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn train_all(
    plan: &Plan,
    work: &[(&Suite, PlannedRun, RunConfig)],
    args: &ReproduceArgs,
) -> Result<()> {
    let started = std::time::Instant::now();
    let mut data_cache: Option<(String, RunData)> = None;
    // The device first, before any data is read or run trained: `--backend wgpu` without a
    // device stops here, with the reason (exit status 2).
    let Some((_, _, first)) = work.first() else {
        return Ok(());
    };
    let backend = run::resolve_backend(first)?;
    eprintln!("device: {}", backend.describe());
    // Runs whose folder looks finished (for the estimate only; each run is checked below).
    let looks_done = |config: &RunConfig| {
        config
            .output
            .dir
            .as_deref()
            .and_then(finished_summary)
            .is_some()
    };
    let mut left: Vec<bool> = work
        .iter()
        .map(|(_, _, c)| args.force || !looks_done(c))
        .collect();
    let expected: Vec<Option<f64>> = work.iter().map(|(s, _, _)| expected_s(plan, s)).collect();
    let (mut spent, mut spent_expected) = (0.0f64, 0.0f64);
    for (i, (suite, run, config)) in work.iter().enumerate() {
        let tag = format!("[{}/{}] {}/{}", i + 1, work.len(), suite.name, run.name);
        let data_key = toml::to_string(&config.data).unwrap_or_default();
        if data_cache.as_ref().map(|(k, _)| k) != Some(&data_key) {
            let data = RunData::load(config).with_context(|| format!("{tag}: loading data"))?;
            data_cache = Some((data_key, data));
        }
        let data = &data_cache.as_ref().expect("loaded above").1;
        let prepared = run::prepare(config.clone(), data, |_| unreachable!("output dir set"))
            .with_context(|| tag.clone())?;
        let dir = prepared.config.output.dir.clone().unwrap_or_default();
        if !args.force {
            if let Some(s) = finished_run(&dir, &prepared.config) {
                archive_run(&dir).with_context(|| tag.clone())?;
                left[i] = false;
                eprintln!("{tag}: already done ({}), skipped", s.status);
                continue;
            }
        }
        if let Some(signal) = interrupt::requested() {
            return Err(anyhow::Error::new(Interrupted { signal })
                .context(format!("{tag}: stopped before this run")));
        }
        let to_train = left.iter().filter(|l| **l).count();
        let expected_left: f64 = expected
            .iter()
            .zip(&left)
            .filter(|(_, l)| **l)
            .filter_map(|(e, _)| *e)
            .sum();
        let scale = if spent_expected > 0.0 {
            spent / spent_expected
        } else {
            1.0
        };
        eprintln!(
            "{tag}: {} of {} runs done, {to_train} to train; elapsed {}, about {} left",
            left.iter().filter(|l| !**l).count(),
            work.len(),
            duration(started.elapsed().as_secs_f64()),
            // An empty sum is -0.0: printed as 0.
            duration(expected_left * scale + 0.0)
        );
        let run_started = std::time::Instant::now();
        let opts = RunOptions {
            resume: false,
            force: true,
            progress: !args.no_progress,
        };
        match run::execute(&prepared, data, &backend, opts) {
            Ok(r) if r.interrupted_by.is_some() => {
                let signal = r.interrupted_by.unwrap_or_default();
                return Err(anyhow::Error::new(Interrupted { signal })
                    .context(format!("{tag}: interrupted (rerun to start it over)")));
            }
            Ok(r) => {
                archive_run(&dir).with_context(|| tag.clone())?;
                left[i] = false;
                if let Some(e) = expected[i] {
                    spent += run_started.elapsed().as_secs_f64();
                    spent_expected += e;
                }
                let s = &r.summary;
                eprintln!(
                    "      {} in {:.1} s, mean loss of last 5 steps {}",
                    s.status,
                    s.total_time_s,
                    s.last5_mean_loss
                        .map_or("-".to_string(), |l| format!("{l:.4}"))
                );
            }
            Err(e) => return Err(e.context(tag)),
        }
    }
    Ok(())
}
