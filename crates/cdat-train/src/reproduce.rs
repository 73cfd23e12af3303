//! `cdat-train reproduce`: runs the experiments of a reproduction plan (`experiments/paper/
//! plan.toml`), one output folder per run, then writes the report (tables, plots, `REPORT.md`)
//! from the runs' `metrics.jsonl` (see [`crate::report`]).
//!
//! A plan lists suites (a model/data pair with a base config file) and, per suite, runs given as
//! command-line options on top of that file, optionally expanded over a grid. Runs whose folder
//! already holds a `summary.json` of the same configuration are not run again, so an interrupted
//! reproduction continues where it stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser};
use serde::Deserialize;

use crate::cli::TrainArgs;
use crate::config::RunConfig;
use crate::data::RunData;
use crate::error::UserError;
use crate::metrics::Summary;
use crate::run::{self, RunOptions};

/// Options of `cdat-train reproduce`.
#[derive(Debug, Clone, Args)]
pub struct ReproduceArgs {
    /// The reproduction plan (TOML); config paths in it are relative to its folder.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "experiments/paper/plan.toml"
    )]
    pub plan: PathBuf,
    /// Run the seconds-long version of every experiment (the plan's `quick` options: a few
    /// steps on tiny subsets). Checks the pipeline, not the science.
    #[arg(long)]
    pub quick: bool,
    /// Folder of the data sets as laid out by `scripts/fetch-datasets.sh DIR` (DIR/mnist,
    /// DIR/cifar10, DIR/tinyshakespeare).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_root: PathBuf,
    /// Folder for the runs (one sub-folder per suite and run) [default: runs/paper, or
    /// runs/paper-quick with --quick].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder for the tables and plots [default: experiments/results, or <out>/results with
    /// --quick].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// The report file [default: experiments/REPORT.md, or <out>/REPORT.md with --quick].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Only the suites named (comma-separated); the report still covers every suite that has
    /// runs on disk.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Vec<String>,
    /// Do not train: only rebuild the report from the runs on disk.
    #[arg(long)]
    pub report_only: bool,
    /// Run again even the runs whose folder already holds a finished run of the same config.
    #[arg(long)]
    pub force: bool,
    /// Hide the per-run progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

/// A reproduction plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Options added to every run with `--quick`.
    #[serde(default)]
    pub quick: Vec<String>,
    /// The suites.
    pub suite: Vec<Suite>,
}

/// A model/data pair and its runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Folder name and key (`mlp-cifar10`).
    pub name: String,
    /// One line for the report: model, data, sizes.
    pub title: String,
    /// Base config, relative to the plan's folder.
    pub config: PathBuf,
    /// Sub-folder of `--data-root` holding the data set (absent: the embedded MNIST subset).
    #[serde(default)]
    pub data: Option<String>,
    /// Options added to this suite's runs with `--quick` (after the plan's).
    #[serde(default)]
    pub quick: Vec<String>,
    /// The runs.
    pub run: Vec<RunSpec>,
}

/// Runs given as options, expanded over a grid.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Folder name (grid points add `_<flag><value>` per axis).
    pub name: String,
    /// Options on top of the suite's config, separated by spaces.
    #[serde(default)]
    pub args: String,
    /// Learning rates 2^k for k in [min, max] (adds `--lr`).
    #[serde(default)]
    pub lr_log2: Option<[i32; 2]>,
    /// Further axes: option → values (the cartesian product is run).
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
}

/// One expanded run of a suite.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// Suite name.
    pub suite: String,
    /// Run name (folder).
    pub name: String,
    /// Options given to the trainer (after `--config`).
    pub args: Vec<String>,
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UserError::new(format!("--plan: cannot read `{}`: {e}", path.display()))
        })?;
        let plan: Plan = toml::from_str(&text).map_err(|e| {
            UserError::new(format!(
                "--plan `{}`: {}",
                path.display(),
                e.message().trim()
            ))
        })?;
        let mut names = std::collections::BTreeSet::new();
        for s in &plan.suite {
            if !names.insert(&s.name) {
                return Err(UserError::new(format!(
                    "--plan `{}`: suite `{}` appears twice",
                    path.display(),
                    s.name
                ))
                .into());
            }
            let mut runs = std::collections::BTreeSet::new();
            for r in s.expand() {
                if !runs.insert(r.name.clone()) {
                    return Err(UserError::new(format!(
                        "--plan `{}`: suite `{}` has two runs named `{}`",
                        path.display(),
                        s.name,
                        r.name
                    ))
                    .into());
                }
            }
        }
        Ok(plan)
    }
}

impl Suite {
    /// The suite's runs with their grids expanded, in plan order.
    pub fn expand(&self) -> Vec<PlannedRun> {
        let mut out = Vec::new();
        for spec in &self.run {
            let base: Vec<String> = spec.args.split_whitespace().map(String::from).collect();
            // Each axis: (option, [(name suffix, value)]).
            let mut axes: Vec<(String, Vec<(String, String)>)> = Vec::new();
            if let Some([lo, hi]) = spec.lr_log2 {
                let values = (lo..=hi)
                    .map(|k| (format!("lr2^{k}"), format!("{}", 2f64.powi(k))))
                    .collect();
                axes.push(("--lr".into(), values));
            }
            for (flag, values) in &spec.grid {
                let key = flag.trim_start_matches('-');
                let values = values
                    .iter()
                    .map(|v| {
                        let text = match v {
                            toml::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (format!("{key}{}", text.replace(['=', ' ', '/'], "")), text)
                    })
                    .collect();
                axes.push((flag.clone(), values));
            }
            let mut points: Vec<(String, Vec<String>)> = vec![(spec.name.clone(), base)];
            for (flag, values) in &axes {
                points = points
                    .into_iter()
                    .flat_map(|(name, args)| {
                        values.iter().map(move |(suffix, value)| {
                            let mut a = args.clone();
                            a.push(flag.clone());
                            a.push(value.clone());
                            (format!("{name}_{suffix}"), a)
                        })
                    })
                    .collect();
            }
            out.extend(points.into_iter().map(|(name, args)| PlannedRun {
                suite: self.name.clone(),
                name,
                args,
            }));
        }
        out
    }
}

/// Folders of a reproduction.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Runs: `<out>/<suite>/<run>`.
    pub out: PathBuf,
    /// Tables and plots.
    pub results: PathBuf,
    /// The report.
    pub report: PathBuf,
}

impl ReproduceArgs {
    /// The folders, with the defaults of the mode.
    pub fn layout(&self) -> Layout {
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from(if self.quick {
                "runs/paper-quick"
            } else {
                "runs/paper"
            })
        });
        let (results, report) = if self.quick {
            (out.join("results"), out.join("REPORT.md"))
        } else {
            (
                PathBuf::from("experiments/results"),
                PathBuf::from("experiments/REPORT.md"),
            )
        };
        Layout {
            results: self.results.clone().unwrap_or(results),
            report: self.report.clone().unwrap_or(report),
            out,
        }
    }
}

/// The trainer's options parsed from a run's option list.
#[derive(Debug, Parser)]
#[command(name = "run", no_binary_name = true)]
struct RunLine {
    #[command(flatten)]
    train: TrainArgs,
}

/// The resolved configuration of a planned run.
pub fn resolve_run(
    plan_dir: &Path,
    suite: &Suite,
    run: &PlannedRun,
    args: &ReproduceArgs,
    plan: &Plan,
    layout: &Layout,
) -> Result<RunConfig> {
    let mut line: Vec<String> = vec![
        "--config".into(),
        plan_dir.join(&suite.config).display().to_string(),
    ];
    if let Some(d) = &suite.data {
        line.push("--data-dir".into());
        line.push(args.data_root.join(d).display().to_string());
    }
    let mut options = run.args.clone();
    if args.quick {
        options = merge_options(&options, &plan.quick);
        options = merge_options(&options, &suite.quick);
    }
    line.extend(options);
    line.push("--out".into());
    line.push(
        layout
            .out
            .join(&suite.name)
            .join(&run.name)
            .display()
            .to_string(),
    );
    let parsed = RunLine::try_parse_from(&line).map_err(|e| {
        UserError::new(format!(
            "plan suite `{}` run `{}`: {}",
            suite.name,
            run.name,
            e.render().to_string().trim()
        ))
    })?;
    parsed.train.resolve().map_err(|e| {
        UserError::new(format!(
            "plan suite `{}` run `{}`: {e:#}",
            suite.name, run.name
        ))
        .into()
    })
}

/// `base` with the options of `later` added; an option given in both takes `later`'s value
/// (except the repeatable `--*-set KEY=VALUE` options, which accumulate). An option's value is
/// the next word unless that starts with `--`.
fn merge_options(base: &[String], later: &[String]) -> Vec<String> {
    fn split(words: &[String]) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let flag = words[i].clone();
            let value = words.get(i + 1).filter(|w| !w.starts_with("--")).cloned();
            i += 1 + usize::from(value.is_some());
            out.push((flag, value));
        }
        out
    }
    let mut merged = split(base);
    for (flag, value) in split(later) {
        match merged.iter_mut().find(|(f, _)| *f == flag) {
            Some(slot) if !flag.ends_with("-set") => slot.1 = value,
            _ => merged.push((flag, value)),
        }
    }
    merged
        .into_iter()
        .flat_map(|(f, v)| std::iter::once(f).chain(v))
        .collect()
}

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
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str::<Summary>(&text)
        .ok()
        .filter(|s| s.status != "interrupted")
}

/// `cdat-train reproduce`: runs the plan, then writes the report; returns the text printed at
/// the end.
pub fn run_reproduce(args: &ReproduceArgs) -> Result<String> {
    let plan = Plan::from_file(&args.plan)?;
    let plan_dir = args.plan.parent().unwrap_or(Path::new(".")).to_path_buf();
    let layout = args.layout();
    for name in &args.only {
        if !plan.suite.iter().any(|s| &s.name == name) {
            return Err(UserError::new(format!(
                "--only: no suite `{name}` in `{}` (suites: {})",
                args.plan.display(),
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
        for run in suite.expand() {
            let config = resolve_run(&plan_dir, suite, &run, args, &plan, &layout)?;
            config.validate()?;
            work.push((suite, run, config));
        }
    }
    if !args.report_only {
        train_all(&work, args)?;
    }
    let text = crate::report::write_report(&plan, &plan_dir, &layout, args.quick)?;
    Ok(text)
}

fn train_all(work: &[(&Suite, PlannedRun, RunConfig)], args: &ReproduceArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let mut data_cache: Option<(String, RunData)> = None;
    let mut backend = None;
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
                eprintln!("{tag}: already done ({}), skipped", s.status);
                continue;
            }
        }
        if backend.is_none() {
            backend = Some(run::resolve_backend(config)?);
        }
        if let Some(signal) = crate::interrupt::requested() {
            return Err(anyhow::Error::new(crate::error::Interrupted { signal })
                .context(format!("{tag}: stopped before this run")));
        }
        eprintln!("{tag} (elapsed {:.0} s)", started.elapsed().as_secs_f64());
        let opts = RunOptions {
            resume: false,
            force: true,
            progress: !args.no_progress,
        };
        match run::execute(&prepared, data, backend.as_ref().expect("set above"), opts) {
            Ok(r) if r.interrupted_by.is_some() => {
                let signal = r.interrupted_by.unwrap_or_default();
                return Err(anyhow::Error::new(crate::error::Interrupted { signal })
                    .context(format!("{tag}: interrupted (rerun to start it over)")));
            }
            Ok(r) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn later_options_replace_earlier_ones_except_repeatable_sets() {
        let merged = merge_options(
            &words("--tuner cdat --steps 500 --no-plots --tuner-set beta=0.9"),
            &words("--steps 6 --train-subset 64 --tuner-set max_lr=1 --no-plots"),
        );
        assert_eq!(
            merged,
            words("--tuner cdat --steps 6 --no-plots --tuner-set beta=0.9 --train-subset 64 --tuner-set max_lr=1")
        );
        // A negative number is a value, not an option.
        assert_eq!(
            merge_options(&words("--lr-log2 -3"), &words("--lr-log2 -4")),
            words("--lr-log2 -4")
        );
    }

    #[test]
    fn grids_expand_to_the_cartesian_product_with_readable_names() {
        let suite: Suite = toml::from_str(
            r#"
            name = "s"
            title = "t"
            config = "c.toml"
            run = [
              { name = "const", args = "--tuner constant", lr_log2 = [-1, 0] },
              { name = "cdat", args = "--tuner cdat", grid = { "--sigma" = [1.0, 2.0], "--tuner-set" = ["beta=0.9"] } },
            ]
            "#,
        )
        .unwrap();
        let runs = suite.expand();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "const_lr2^-1",
                "const_lr2^0",
                "cdat_sigma1.0_tuner-setbeta0.9",
                "cdat_sigma2.0_tuner-setbeta0.9"
            ]
        );
        assert_eq!(runs[0].args, words("--tuner constant --lr 0.5"));
        assert_eq!(
            runs[3].args,
            words("--tuner cdat --sigma 2.0 --tuner-set beta=0.9")
        );
    }
}
