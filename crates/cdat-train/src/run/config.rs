//! The run configuration: TOML file + command-line overrides + defaults, validated.
//!
//! Layering: built-in defaults < `--config FILE` < flags. The resolved configuration is what a
//! run saves as `config.toml` and what `--resume` compares against. The sections other than
//! the optimizer and the tuner are in `sections`.

mod sections;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use self::sections::{
    BackendChoice, DataSection, LossKind, ModelSection, OutputSection, Precision, SharpnessSection,
    TrainSection,
};
use crate::run::error::UserError;
use crate::run::tuner_setup::{self, BaseConfig, TunerConfig};
use cdat_core::curvature::CurvatureMethod;

/// Everything a run needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Seed of the model initialization, data subset and order, and sharpness start vectors.
    pub seed: u64,
    /// Compute backend.
    pub backend: BackendChoice,
    /// Floating-point precision.
    pub precision: Precision,
    /// Training loss.
    pub loss: LossKind,
    /// Data.
    pub data: DataSection,
    /// Model.
    pub model: ModelSection,
    /// Base optimizer (the direction `u`).
    pub optimizer: BaseConfig,
    /// Learning-rate tuner (the step size `η`).
    pub tuner: TunerConfig,
    /// How curvature-aware tuners compute `uᵀHu` (`jet` or `forward-over-reverse`).
    pub curvature: CurvatureMethod,
    /// Run length and batching.
    pub train: TrainSection,
    /// Sharpness tracking.
    pub sharpness: SharpnessSection,
    /// Output.
    pub output: OutputSection,
    /// Set a schedule's horizon to the run length when preparing the run (the horizon was not
    /// given in the file or flags). Not saved: the saved config holds the horizon used.
    #[serde(skip)]
    pub horizon_from_run: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            backend: BackendChoice::Auto,
            precision: Precision::F32,
            loss: LossKind::CrossEntropy,
            data: DataSection::default(),
            model: ModelSection::default(),
            optimizer: BaseConfig::default(),
            tuner: TunerConfig::default(),
            curvature: CurvatureMethod::default(),
            train: TrainSection::default(),
            sharpness: SharpnessSection::default(),
            output: OutputSection::default(),
            horizon_from_run: false,
        }
    }
}

/// Steps of the default run when neither steps nor epochs are given.
pub const DEFAULT_STEPS: usize = 500;

impl RunConfig {
    /// Reads a TOML config file; errors name the file, and for invalid content the line and key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UserError::new(format!("cannot read config file `{}`: {e}", path.display()))
        })?;
        Self::from_toml_str(&text).map_err(|e| {
            UserError::new(format!("invalid config file `{}`: {e}", path.display())).into()
        })
    }

    /// Whether the TOML file at `path` sets `section.key`.
    pub fn file_mentions(path: &Path, section: &str, key: &str) -> bool {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .and_then(|t| t.get(section).and_then(|s| s.get(key)).map(|_| ()))
            .is_some()
    }

    /// Parses TOML text (the message of an error shows line, column and key). A key of the
    /// `[optimizer]` or `[tuner]` table that the chosen variant does not have is an error (serde
    /// drops such keys silently for variants without fields, such as `gd`).
    pub fn from_toml_str(text: &str) -> std::result::Result<Self, String> {
        let config = toml::from_str::<RunConfig>(text).map_err(|e| {
            // Errors inside the internally tagged [tuner] / [optimizer] tables lose their
            // position; find the offending key by trying the keys one at a time.
            diagnose_tagged::<TunerConfig>(text, "tuner")
                .or_else(|| diagnose_tagged::<BaseConfig>(text, "optimizer"))
                .unwrap_or_else(|| e.to_string().trim_end().to_string())
        })?;
        let table = toml::from_str::<toml::Table>(text).map_err(|e| e.to_string())?;
        for (section, resolved) in [
            ("optimizer", toml::Value::try_from(&config.optimizer)),
            ("tuner", toml::Value::try_from(&config.tuner)),
        ] {
            let Some(given) = table.get(section).and_then(|v| v.as_table()) else {
                continue;
            };
            let resolved = resolved.map_err(|e| e.to_string())?;
            for key in given.keys() {
                if let Some(problem) = unused_key(section, &resolved, key) {
                    let at = line_of_key(text, section, key)
                        .map_or(String::new(), |l| format!("line {l}, "));
                    return Err(format!("{at}key `{section}.{key}`: {problem}"));
                }
            }
        }
        Ok(config)
    }

    /// The TOML text of this configuration.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).context("serializing the configuration to TOML")
    }

    /// The number of steps, from `train.steps`, or `train.epochs` × batches per epoch, or the
    /// default.
    pub fn total_steps(&self, batches_per_epoch: usize) -> usize {
        match (self.train.steps, self.train.epochs) {
            (Some(s), _) => s,
            (None, Some(e)) => e * batches_per_epoch,
            (None, None) => DEFAULT_STEPS,
        }
    }

    /// Checks everything that can be checked without reading data; messages name the flag and
    /// config key.
    pub fn validate(&self) -> Result<()> {
        let user = |msg: String| -> anyhow::Error { UserError::new(msg).into() };
        cdat_data::DatasetKind::from_str_checked(&self.data.dataset)?;
        self.model
            .name
            .parse::<cdat_models::ModelKind>()
            .map_err(|e| user(format!("--model / model.name: {e}")))?;
        if self.train.steps.is_some() && self.train.epochs.is_some() {
            return Err(user(
                "--steps and --epochs (train.steps, train.epochs) exclude each other; give one"
                    .into(),
            ));
        }
        if self.train.steps == Some(0) {
            return Err(user("--steps / train.steps must be at least 1".into()));
        }
        if self.train.epochs == Some(0) {
            return Err(user("--epochs / train.epochs must be at least 1".into()));
        }
        if self.train.batch_size == Some(0) {
            return Err(user(
                "--batch-size / train.batch_size must be at least 1 (omit it for full batch)"
                    .into(),
            ));
        }
        if self.train.eval_batch_size == 0 {
            return Err(user(
                "--eval-batch-size / train.eval_batch_size must be at least 1".into(),
            ));
        }
        if self.train.divergence_factor.is_nan() || self.train.divergence_factor <= 1.0 {
            return Err(user(format!(
                "--divergence-factor / train.divergence_factor must be > 1, got {}",
                self.train.divergence_factor
            )));
        }
        if self.sharpness.max_iters == 0 {
            return Err(user(
                "--power-iters / sharpness.max_iters must be at least 1".into(),
            ));
        }
        if !(self.sharpness.rel_tol >= 0.0 && self.sharpness.rel_tol.is_finite()) {
            return Err(user(format!(
                "--power-tol / sharpness.rel_tol must be a finite number >= 0, got {}",
                self.sharpness.rel_tol
            )));
        }
        if self.data.train_subset == Some(0) || self.data.test_subset == Some(0) {
            return Err(user(
                "--train-subset / --test-subset must be at least 1".into(),
            ));
        }
        if self.data.block_size == 0 {
            return Err(user(
                "--block-size / data.block_size must be at least 1".into(),
            ));
        }
        if self.loss == LossKind::Mse
            && self
                .model
                .name
                .trim()
                .eq_ignore_ascii_case("char-transformer")
        {
            return Err(user(
                "--loss mse applies to image classifiers only, not to char-transformer".into(),
            ));
        }
        tuner_setup::validate(&self.tuner, &self.optimizer).map_err(|e| {
            user(format!(
                "{e:#} (set by --lr, --sigma, --tuner-set, --optimizer-set or the config file)"
            ))
        })?;
        Ok(())
    }

    /// The data folder: `data.dir`, or the embedded MNIST subset for MNIST.
    pub fn data_dir(&self) -> Result<PathBuf> {
        match (&self.data.dir, self.data.dataset.to_ascii_lowercase().as_str()) {
            (Some(d), _) => Ok(d.clone()),
            (None, "mnist") => Ok(cdat_data::embedded_mnist_dir()),
            (None, other) => Err(UserError::new(format!(
                "data set `{other}` needs --data-dir (data.dir): only MNIST has a subset shipped with the project; \
                 scripts/fetch-datasets.sh downloads the others"
            ))
            .into()),
        }
    }

    /// The keys (dotted paths) whose values differ between two configurations.
    pub fn differing_keys(&self, other: &RunConfig) -> Vec<String> {
        let a = toml::Value::try_from(self).unwrap_or(toml::Value::Table(Default::default()));
        let b = toml::Value::try_from(other).unwrap_or(toml::Value::Table(Default::default()));
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        out
    }

    /// A copy with the fields that may differ between a run and its resumption (or a rerun of
    /// the same run) reset: output folder, run length, checkpoint interval, plots, backend.
    pub fn identity(&self) -> RunConfig {
        let mut c = self.clone();
        c.output.dir = None;
        c
    }

    /// Like [`RunConfig::identity`], also ignoring the run length and checkpointing (a resumed
    /// run may be extended).
    pub fn resume_identity(&self) -> RunConfig {
        let mut c = self.identity();
        c.train.steps = None;
        c.train.epochs = None;
        c.output.checkpoint_every = 0;
        c.output.plots = true;
        c.backend = BackendChoice::Auto;
        c
    }
}

/// For a tagged table `[section]` that fails to deserialize as `T`: the first key that fails on
/// its own (with the variant name), its line, and serde's message.
fn diagnose_tagged<T: for<'de> Deserialize<'de>>(text: &str, section: &str) -> Option<String> {
    let table = toml::from_str::<toml::Table>(text).ok()?;
    let sec = table.get(section)?.as_table()?;
    let try_keys = |keys: &[&String]| -> std::result::Result<(), String> {
        let mut t = toml::Table::new();
        for k in keys {
            t.insert((*k).clone(), sec[k.as_str()].clone());
        }
        toml::Value::Table(t)
            .try_into::<T>()
            .map(|_| ())
            .map_err(|e| e.message().trim().to_string())
    };
    let all: Vec<&String> = sec.keys().collect();
    try_keys(&all).err()?;
    let tag = sec.keys().find(|k| k.as_str() == tuner_setup::TAG);
    let mut culprit = None;
    if let Some(tag) = tag {
        if let Err(msg) = try_keys(&[tag]) {
            culprit = Some((tag.clone(), msg));
        } else {
            for k in sec.keys().filter(|k| k.as_str() != tuner_setup::TAG) {
                if let Err(msg) = try_keys(&[tag, k]) {
                    culprit = Some((k.clone(), msg));
                    break;
                }
            }
        }
    }
    let (key, msg) = culprit.or_else(|| {
        try_keys(&all)
            .err()
            .map(|m| (tuner_setup::TAG.to_string(), m))
    })?;
    let line = line_of_key(text, section, &key);
    Some(match line {
        Some(l) => format!("line {l}, key `{section}.{key}`: {msg}"),
        None => format!("in [{section}], key `{section}.{key}`: {msg}"),
    })
}

/// The 1-based line where `key = ...` is set inside `[section]`.
fn line_of_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            current = l
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            continue;
        }
        if current == section {
            if let Some((k, _)) = l.split_once('=') {
                if k.trim().trim_matches('"') == key {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

fn diff_values(prefix: &str, a: &toml::Value, b: &toml::Value, out: &mut Vec<String>) {
    match (a, b) {
        (toml::Value::Table(ta), toml::Value::Table(tb)) => {
            let mut keys: Vec<&String> = ta.keys().chain(tb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (ta.get(k), tb.get(k)) {
                    (Some(x), Some(y)) => diff_values(&path, x, y, out),
                    _ => out.push(path),
                }
            }
        }
        _ if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

/// Parses `KEY=VALUE` where VALUE is a TOML value (`0.9`, `true`, `[64, 64]`, `"text"`); a
/// bare word that is not valid TOML is taken as a string.
pub fn parse_key_value(s: &str) -> std::result::Result<(String, toml::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("empty key in `{s}`"));
    }
    Ok((k.to_string(), parse_toml_scalar(v.trim())))
}

fn parse_toml_scalar(v: &str) -> toml::Value {
    let doc = format!("x = {v}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("x")
            .unwrap_or_else(|| toml::Value::String(v.to_string())),
        Err(_) => toml::Value::String(v.to_string()),
    }
}

/// Sets `key` in the serialized form of a tagged enum config (tuner or optimizer) and
/// deserializes it back; unknown keys and wrong types are errors naming `what` (the flag).
pub fn set_field<T>(value: &T, key: &str, new: toml::Value, what: &str) -> Result<T>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let mut table = match toml::Value::try_from(value)? {
        toml::Value::Table(t) => t,
        _ => bail!("{what}: the configuration is not a table"),
    };
    if key == tuner_setup::TAG {
        return Err(UserError::new(format!(
            "{what}: `{key}` selects the variant; use --tuner / --optimizer"
        ))
        .into());
    }
    let variant = table
        .get(tuner_setup::TAG)
        .and_then(|v| v.as_str())
        .unwrap_or("?")
        .to_string();
    table.insert(key.to_string(), new);
    let out: T = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            anyhow!(UserError::new(format!(
                "{what} {key}: for `{variant}`: {}",
                e.message().trim()
            )))
        })?;
    // A variant without fields (`gd`) accepts and drops any key: check that it was kept.
    let section = if tuner_setup::BASE_NAMES.contains(&variant.as_str()) {
        "optimizer"
    } else {
        "tuner"
    };
    if let Some(problem) = unused_key(section, &toml::Value::try_from(&out)?, key) {
        return Err(UserError::new(format!("{what} {key}: {problem}")).into());
    }
    Ok(out)
}

/// When `key` is not a setting of the resolved `[section]` variant `resolved` (so it would be
/// ignored): what to say about it, naming the variants that do have it.
fn unused_key(section: &str, resolved: &toml::Value, key: &str) -> Option<String> {
    if key == tuner_setup::TAG || resolved.get(key).is_some() {
        return None;
    }
    let variant = resolved
        .get(tuner_setup::TAG)
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let mut own: Vec<&str> = resolved
        .as_table()
        .map(|t| {
            t.keys()
                .map(String::as_str)
                .filter(|k| *k != tuner_setup::TAG)
                .collect()
        })
        .unwrap_or_default();
    own.sort_unstable();
    let (kind, names, flag): (&str, &[&str], &str) = if section == "optimizer" {
        ("optimizer", tuner_setup::BASE_NAMES, "--optimizer")
    } else {
        ("tuner", tuner_setup::TUNER_NAMES, "--tuner")
    };
    let having: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| {
            let value = if section == "optimizer" {
                tuner_setup::default_base(n)
                    .ok()
                    .and_then(|c| toml::Value::try_from(&c).ok())
            } else {
                tuner_setup::default_tuner(n)
                    .ok()
                    .and_then(|c| toml::Value::try_from(&c).ok())
            };
            value.is_some_and(|v| v.get(key).is_some())
        })
        .collect();
    let own = if own.is_empty() {
        "it has no settings".to_string()
    } else {
        format!("its settings: {}", own.join(", "))
    };
    let hint = if !having.is_empty() {
        format!(
            "; {kind}s with `{key}`: {} ({flag} NAME)",
            having.join(", ")
        )
    } else if section == "optimizer" && key.contains("lr") {
        "; the learning rate is the tuner's: --lr, or `lr` / `peak_lr` in [tuner]".to_string()
    } else {
        String::new()
    };
    Some(format!(
        "{kind} `{variant}` has no setting `{key}`, it would be ignored ({own}){hint}"
    ))
}

/// Small extension so that the data-set name can be checked with a user-facing message.
trait DatasetKindExt {
    fn from_str_checked(s: &str) -> Result<cdat_data::DatasetKind>;
}

impl DatasetKindExt for cdat_data::DatasetKind {
    fn from_str_checked(s: &str) -> Result<cdat_data::DatasetKind> {
        s.parse::<cdat_data::DatasetKind>()
            .map_err(|e| UserError::new(format!("--dataset / data.dataset: {e}")).into())
    }
}

#[cfg(test)]
mod tests;
