//! A reproduction plan (`experiments/paper/plan.toml`) and where its runs and report go.
//!
//! A plan lists suites (a model/data pair with a base config file) and, per suite, runs given as
//! command-line options on top of that file, optionally expanded over a grid; each expanded run
//! resolves to the configuration of one training run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Parser;
use serde::Deserialize;

use crate::cli::reproduce::{Profile, ReproduceArgs};
use crate::cli::train::TrainArgs;
use crate::run::config::RunConfig;
use crate::run::error::UserError;

/// A reproduction plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Seeds every run is repeated with (model initialization, data subset and order,
    /// sharpness start vectors); a run's folder name ends in `_seed<k>`.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Seeds of `--quick` (default: `seeds`); fewer keep the pipeline check short.
    #[serde(default)]
    pub quick_seeds: Option<Vec<u64>>,
    /// Options added to every run (before the suite's and the run's own), e.g. the backend.
    #[serde(default)]
    pub args: Vec<String>,
    /// Options added to every run with `--quick`.
    #[serde(default)]
    pub quick: Vec<String>,
    /// With `--quick`, only the runs of these names (a run's folder name without `_seed<k>`,
    /// e.g. `gd-cdat_sigma2.0`), in every suite that has them (default: every run). Keeps the
    /// pipeline check of a large plan short; each name must match a run of some suite.
    #[serde(default)]
    pub quick_runs: Option<Vec<String>>,
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
    /// Options added to this suite's runs (after the plan's `args`, before the run's own).
    #[serde(default)]
    pub args: Vec<String>,
    /// Options added to this suite's runs with `--quick` (after the plan's).
    #[serde(default)]
    pub quick: Vec<String>,
    /// Expected minutes of the whole suite (every run and seed) with the release build on 2
    /// CPU cores: the plan's statement of its budget and the basis of `reproduce`'s estimate
    /// of the time left.
    #[serde(default)]
    pub expected_minutes: Option<f64>,
    /// The runs.
    pub run: Vec<RunSpec>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
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
    /// Run name (folder): `point` followed by `_seed<k>`.
    pub name: String,
    /// The grid point: the run's name without its seed (what `quick_runs` names).
    pub point: String,
    /// The seed (`--seed`).
    pub seed: u64,
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
        for (key, list) in [
            ("seeds", Some(&plan.seeds)),
            ("quick_seeds", plan.quick_seeds.as_ref()),
        ] {
            let Some(list) = list else { continue };
            let mut seeds = list.clone();
            seeds.sort_unstable();
            seeds.dedup();
            if list.is_empty() || seeds.len() != list.len() {
                return Err(UserError::new(format!(
                    "--plan `{}`: `{key}` must list at least one seed, each once (got {list:?})",
                    path.display()
                ))
                .into());
            }
        }
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
            for r in s.expand(&plan.seeds) {
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
        for name in plan.quick_runs.iter().flatten() {
            let found = plan
                .suite
                .iter()
                .any(|s| s.expand(&plan.seeds[..1]).iter().any(|r| &r.point == name));
            if !found {
                return Err(UserError::new(format!(
                    "--plan `{}`: `quick_runs` names `{name}`, which no suite has (names are \
                     run folders without `_seed<k>`, e.g. `gd-cdat_sigma2.0`)",
                    path.display()
                ))
                .into());
            }
        }
        Ok(plan)
    }
}

impl Plan {
    /// The plan as run in a mode: with `quick`, its `quick_seeds` replace `seeds` and only its
    /// `quick_runs` are kept; without, every run.
    pub fn for_mode(mut self, quick: bool) -> Self {
        if quick {
            if let Some(q) = self.quick_seeds.take() {
                self.seeds = q;
            }
        } else {
            self.quick_runs = None;
        }
        self
    }

    /// The runs of `suite` in this plan's mode: its expanded runs over the plan's seeds (only
    /// those of `quick_runs`, when the plan, as run, has them).
    pub fn runs(&self, suite: &Suite) -> Vec<PlannedRun> {
        let mut runs = suite.expand(&self.seeds);
        if let Some(keep) = &self.quick_runs {
            runs.retain(|r| keep.contains(&r.point));
        }
        runs
    }
}

impl Suite {
    /// The suite's runs with their grids expanded, in plan order, each repeated over `seeds`
    /// (the innermost axis: a run's seeds are next to each other).
    pub fn expand(&self, seeds: &[u64]) -> Vec<PlannedRun> {
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
            for (name, args) in points {
                out.extend(seeds.iter().map(|&seed| {
                    let mut args = args.clone();
                    args.push("--seed".into());
                    args.push(seed.to_string());
                    PlannedRun {
                        suite: self.name.clone(),
                        name: format!("{name}_seed{seed}"),
                        point: name.clone(),
                        seed,
                        args,
                    }
                }));
            }
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

impl Layout {
    /// The folders of `args`, with the defaults of the mode.
    pub fn of(args: &ReproduceArgs) -> Self {
        let committed = args.profile == Profile::Cpu && !args.quick;
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from(match (args.profile, args.quick) {
                (Profile::Cpu, false) => "experiments/runs",
                (Profile::Cpu, true) => "runs/paper-quick",
                (Profile::Gpu, false) => "runs/paper-gpu",
                (Profile::Gpu, true) => "runs/paper-gpu-quick",
            })
        });
        let (results, report) = if !committed {
            (out.join("results"), out.join("REPORT.md"))
        } else {
            (
                PathBuf::from("experiments/results"),
                PathBuf::from("experiments/REPORT.md"),
            )
        };
        Layout {
            results: args.results.clone().unwrap_or(results),
            report: args.report.clone().unwrap_or(report),
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
    let mut options = merge_options(&plan.args, &suite.args);
    options = merge_options(&options, &run.args);
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
    fn a_plan_without_seeds_or_with_a_repeated_seed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        for seeds in ["[]", "[1, 1]"] {
            std::fs::write(
                &path,
                format!("seeds = {seeds}\n[[suite]]\nname = \"s\"\ntitle = \"t\"\nconfig = \"c.toml\"\nrun = []\n"),
            )
            .unwrap();
            let err = Plan::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("`seeds` must list"), "{err}");
        }
    }

    #[test]
    fn quick_runs_keep_only_the_named_runs_in_quick_mode_and_unknown_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        let suites = "[[suite]]\nname = \"a\"\ntitle = \"t\"\nconfig = \"c.toml\"\nrun = [\n  { name = \"const\", lr_log2 = [-1, 0] },\n  { name = \"cdat\", grid = { \"--sigma\" = [1.0, 2.0] } },\n]\n[[suite]]\nname = \"b\"\ntitle = \"t\"\nconfig = \"c.toml\"\nrun = [{ name = \"cdat\", grid = { \"--sigma\" = [2.0] } }]\n";
        std::fs::write(
            &path,
            format!("seeds = [0, 1]\nquick_seeds = [3]\nquick_runs = [\"const_lr2^0\", \"cdat_sigma2.0\"]\n{suites}"),
        )
        .unwrap();
        let names = |plan: &Plan, suite: usize| -> Vec<String> {
            plan.runs(&plan.suite[suite])
                .into_iter()
                .map(|r| r.name)
                .collect()
        };
        let full = Plan::from_file(&path).unwrap().for_mode(false);
        assert_eq!(names(&full, 0).len(), 8, "every run without --quick");
        let quick = Plan::from_file(&path).unwrap().for_mode(true);
        assert_eq!(
            names(&quick, 0),
            ["const_lr2^0_seed3", "cdat_sigma2.0_seed3"]
        );
        assert_eq!(names(&quick, 1), ["cdat_sigma2.0_seed3"]);

        std::fs::write(&path, format!("quick_runs = [\"cdat_sigma3.0\"]\n{suites}")).unwrap();
        let err = Plan::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("`quick_runs` names `cdat_sigma3.0`, which no suite has"),
            "{err}"
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
        let runs = suite.expand(&[0, 7]);
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "const_lr2^-1_seed0",
                "const_lr2^-1_seed7",
                "const_lr2^0_seed0",
                "const_lr2^0_seed7",
                "cdat_sigma1.0_tuner-setbeta0.9_seed0",
                "cdat_sigma1.0_tuner-setbeta0.9_seed7",
                "cdat_sigma2.0_tuner-setbeta0.9_seed0",
                "cdat_sigma2.0_tuner-setbeta0.9_seed7"
            ]
        );
        assert_eq!(runs[0].args, words("--tuner constant --lr 0.5 --seed 0"));
        assert_eq!(runs[1].seed, 7);
        assert_eq!(
            runs[7].args,
            words("--tuner cdat --sigma 2.0 --tuner-set beta=0.9 --seed 7")
        );
    }
}
