//! The sections of a run's configuration besides the optimizer and the tuner: backend,
//! precision, loss, data, model, training, sharpness tracking and output.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which compute backend runs the training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// wgpu when a device answers, else ndarray (with a one-line notice).
    #[default]
    Auto,
    /// The CPU backend (burn-ndarray).
    Ndarray,
    /// The GPU backend through wgpu (Vulkan on Linux).
    Wgpu,
}

impl BackendChoice {
    /// The name as written in configs and flags.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Ndarray => "ndarray",
            BackendChoice::Wgpu => "wgpu",
        }
    }
}

/// Floating-point precision of the parameters and activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// 32-bit floats (every backend).
    #[default]
    F32,
    /// 64-bit floats (refused for now: Burn 0.21 keeps the f32 dtype of the data).
    F64,
}

/// The training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Mean cross-entropy of the logits (next-token cross-entropy for the language model).
    #[default]
    CrossEntropy,
    /// Half squared error against one-hot targets (image classifiers only).
    Mse,
}

/// Data set, where its files are, and which part of it to use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// `mnist`, `cifar10` or `tinyshakespeare`.
    pub dataset: String,
    /// Folder holding the data set's official files; for MNIST, absent = the small subset
    /// shipped with the project (2,048 train / 512 test images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Number of training examples to keep (class-balanced for images, chosen with `seed`);
    /// absent = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Number of test examples to keep; absent = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
    /// Standardize images per channel with the training statistics (else pixels in [0, 1]).
    pub standardize: bool,
    /// Characters per block (text only).
    pub block_size: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            dataset: "mnist".into(),
            dir: None,
            train_subset: None,
            test_subset: None,
            standardize: false,
            block_size: 128,
        }
    }
}

/// Model name and overrides of its default configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// One of `cdat_models::registry::MODEL_NAMES`.
    pub name: String,
    /// Fields of the model's configuration to change from its defaults (e.g. `hidden = [64]`
    /// for the MLP); the full configuration is saved as `model.json` in the run folder.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            name: "mlp".into(),
            config: toml::Table::new(),
        }
    }
}

/// Length of the run and batching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Number of steps (updates); exclusive with `epochs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Number of epochs (passes over the training set); exclusive with `steps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Examples per mini-batch; absent = full batch (the whole training set every step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Evaluate train/test accuracy and loss every this many steps (0 = never; the first and
    /// last steps are always evaluated otherwise).
    pub eval_every: usize,
    /// Examples per forward pass during evaluation.
    pub eval_batch_size: usize,
    /// Stop as diverged when the loss exceeds this multiple of the initial loss (NaN or
    /// infinite losses always stop the run).
    pub divergence_factor: f64,
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            steps: None,
            epochs: None,
            batch_size: None,
            eval_every: 10,
            eval_batch_size: 1024,
            divergence_factor: 100.0,
        }
    }
}

/// Sharpness (λmax of the Hessian) tracking by power iteration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharpnessSection {
    /// Measure λmax every this many steps (0 = never; otherwise also at the first and last
    /// steps).
    pub every: usize,
    /// Most Hessian-vector products per measurement.
    pub max_iters: usize,
    /// Stop when consecutive estimates differ by at most `rel_tol · |λ|`.
    pub rel_tol: f64,
}

impl Default for SharpnessSection {
    fn default() -> Self {
        Self {
            every: 10,
            max_iters: 20,
            rel_tol: 1e-3,
        }
    }
}

/// Where results go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Output folder; absent = `runs/<date>-<time>-<model>-<tuner>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Write a checkpoint every this many steps (0 = only at the end).
    pub checkpoint_every: usize,
    /// Render PNG and SVG plots at the end of the run.
    pub plots: bool,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            dir: None,
            checkpoint_every: 50,
            plots: true,
        }
    }
}
