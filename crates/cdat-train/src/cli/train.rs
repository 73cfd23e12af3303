//! The options of one training run ([`TrainArgs`]) and how they resolve into a
//! [`RunConfig`]: every option overrides the same key of the `--config` file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::run::config::{
    parse_key_value, set_field, BackendChoice, LossKind, Precision, RunConfig,
};
use crate::run::error::UserError;
use crate::run::tuner_setup;
use cdat_core::curvature::CurvatureMethod;

fn parse_curvature(s: &str) -> std::result::Result<CurvatureMethod, String> {
    s.parse()
}

/// Options of one training run; each overrides the config file key named in its help.
#[derive(Debug, Clone, Default, Args)]
pub struct TrainArgs {
    /// TOML config file (see experiments/*.toml); options given on the command line override it.
    #[arg(long, value_name = "FILE", help_heading = "Configuration")]
    pub config: Option<PathBuf>,
    /// Print the resolved configuration (TOML) and exit without training.
    #[arg(long, help_heading = "Configuration")]
    pub print_config: bool,

    /// Compute backend: `auto` = wgpu if a GPU device answers, else ndarray (CPU) [key: backend]
    /// [default: auto].
    #[arg(long, value_enum, help_heading = "Backend")]
    pub backend: Option<BackendChoice>,
    /// Float precision; only f32 is supported for now (f64 is refused) [key: precision]
    /// [default: f32].
    #[arg(long, value_enum, help_heading = "Backend")]
    pub precision: Option<Precision>,

    /// Data set: mnist, cifar10 or tinyshakespeare [key: data.dataset] [default: mnist].
    #[arg(long, value_name = "NAME", help_heading = "Data")]
    pub dataset: Option<String>,
    /// Folder with the data set's official files [key: data.dir] [default for mnist: the
    /// 2,048-image subset in datasets/mnist-small].
    #[arg(long, value_name = "DIR", help_heading = "Data")]
    pub data_dir: Option<PathBuf>,
    /// Keep this many training examples (class-balanced for images, chosen with --seed)
    /// [key: data.train_subset] [default: all].
    #[arg(long, value_name = "N", help_heading = "Data")]
    pub train_subset: Option<usize>,
    /// Keep this many test examples [key: data.test_subset] [default: all].
    #[arg(long, value_name = "N", help_heading = "Data")]
    pub test_subset: Option<usize>,
    /// Standardize images per channel (else pixels in [0, 1]) [key: data.standardize].
    #[arg(long, help_heading = "Data")]
    pub standardize: bool,
    /// Characters per block for text data [key: data.block_size] [default: 128].
    #[arg(long, value_name = "N", help_heading = "Data")]
    pub block_size: Option<usize>,

    /// Model: mlp, resnet8, resnet20, resnet34, mixer, vit, char-transformer [key: model.name]
    /// [default: mlp].
    #[arg(long, value_name = "NAME", help_heading = "Model")]
    pub model: Option<String>,
    /// Change a field of the model's configuration, e.g. `--model-set hidden=[64,64]`
    /// (repeatable; VALUE is TOML) [key: model.config.KEY].
    #[arg(long = "model-set", value_name = "KEY=VALUE", value_parser = parse_key_value, help_heading = "Model")]
    pub model_set: Vec<(String, toml::Value)>,
    /// Training loss: cross-entropy or mse (one-hot squared error) [key: loss]
    /// [default: cross-entropy].
    #[arg(long, value_enum, help_heading = "Model")]
    pub loss: Option<LossKind>,

    /// Base optimizer giving the direction u: gd, momentum, adam, adamw, rmsprop
    /// [key: optimizer.name] [default: gd].
    #[arg(long, value_name = "NAME", help_heading = "Optimizer and tuner")]
    pub optimizer: Option<String>,
    /// Set a hyperparameter of the base optimizer, e.g. `--optimizer-set beta1=0.9`
    /// (repeatable) [key: optimizer.KEY].
    #[arg(long = "optimizer-set", value_name = "KEY=VALUE", value_parser = parse_key_value, help_heading = "Optimizer and tuner")]
    pub optimizer_set: Vec<(String, toml::Value)>,
    /// Learning-rate tuner: constant, warmup-constant, linear-decay, cosine, linesearch, greedy,
    /// cdat, polyak, hypergradient, sharpness [key: tuner.name] [default: cdat].
    #[arg(long, value_name = "NAME", help_heading = "Optimizer and tuner")]
    pub tuner: Option<String>,
    /// Learning rate (peak or initial, for tuners that have one; must be >= 0) [key: tuner.lr].
    #[arg(
        long,
        value_name = "ETA",
        allow_negative_numbers = true,
        help_heading = "Optimizer and tuner"
    )]
    pub lr: Option<f64>,
    /// Scaling sigma of the curvature-aware tuners (2 = edge of stability; must be > 0)
    /// [key: tuner.sigma] [default: 2].
    #[arg(
        long,
        value_name = "SIGMA",
        allow_negative_numbers = true,
        help_heading = "Optimizer and tuner"
    )]
    pub sigma: Option<f64>,
    /// How the curvature-aware tuners compute uᵀHu: `jet` (one forward pass carrying a
    /// second-order Taylor coefficient, no tape) or `forward-over-reverse` (a forward and a
    /// backward pass on dual numbers) [key: curvature] [default: jet].
    #[arg(long, value_name = "METHOD", value_parser = parse_curvature, help_heading = "Optimizer and tuner")]
    pub curvature: Option<CurvatureMethod>,
    /// Set a hyperparameter of the tuner, e.g. `--tuner-set warmup_steps=100` (repeatable)
    /// [key: tuner.KEY].
    #[arg(long = "tuner-set", value_name = "KEY=VALUE", value_parser = parse_key_value, help_heading = "Optimizer and tuner")]
    pub tuner_set: Vec<(String, toml::Value)>,

    /// Number of steps (updates) [key: train.steps] [default: 500].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "epochs",
        help_heading = "Training"
    )]
    pub steps: Option<usize>,
    /// Number of epochs instead of steps [key: train.epochs].
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub epochs: Option<usize>,
    /// Mini-batch size [key: train.batch_size] [default: full batch].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "full_batch",
        help_heading = "Training"
    )]
    pub batch_size: Option<usize>,
    /// Use the whole training set every step (overrides train.batch_size of the config file).
    #[arg(long, help_heading = "Training")]
    pub full_batch: bool,
    /// Seed of initialization, data subset and order, and sharpness start vectors [key: seed]
    /// [default: 0].
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub seed: Option<u64>,
    /// Evaluate train/test accuracy and loss every N steps, 0 = never [key: train.eval_every]
    /// [default: 10].
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub eval_every: Option<usize>,
    /// Examples per forward pass during evaluation [key: train.eval_batch_size] [default: 1024].
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub eval_batch_size: Option<usize>,
    /// Stop as diverged when the loss exceeds this multiple of the initial loss (NaN/inf always
    /// stop) [key: train.divergence_factor] [default: 100].
    #[arg(long, value_name = "X", help_heading = "Training")]
    pub divergence_factor: Option<f64>,

    /// Measure the sharpness λmax every N steps (and at the first and last), 0 = never
    /// [key: sharpness.every] [default: 10].
    #[arg(long, value_name = "N", help_heading = "Sharpness")]
    pub sharpness_every: Option<usize>,
    /// Most Hessian-vector products per sharpness measurement (power iteration budget)
    /// [key: sharpness.max_iters] [default: 20].
    #[arg(long, value_name = "N", help_heading = "Sharpness")]
    pub power_iters: Option<usize>,
    /// Relative tolerance of the power iteration [key: sharpness.rel_tol] [default: 1e-3].
    #[arg(long, value_name = "TOL", help_heading = "Sharpness")]
    pub power_tol: Option<f64>,

    /// Output folder [key: output.dir] [default: runs/<date>-<time>-<model>-<tuner>].
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Write checkpoint.ckpt every N steps (and at the end), 0 = only at the end
    /// [key: output.checkpoint_every] [default: 50].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub checkpoint_every: Option<usize>,
    /// Do not render plots [key: output.plots = false].
    #[arg(long, help_heading = "Output")]
    pub no_plots: bool,
    /// Continue the run in --out from its checkpoint (same config; --steps may be raised).
    #[arg(long, conflicts_with = "force", help_heading = "Output")]
    pub resume: bool,
    /// Use --out even if it holds a run of a different config (its run files are replaced).
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// Hide the progress bar.
    #[arg(long, help_heading = "Output")]
    pub no_progress: bool,
}

impl TrainArgs {
    /// The configuration: defaults, then `--config`, then these options.
    pub fn resolve(&self) -> Result<RunConfig> {
        let (mut cfg, file_sets_horizon) = match &self.config {
            Some(path) => {
                let cfg = RunConfig::from_file(path)?;
                let mentions = RunConfig::file_mentions(path, "tuner", tuner_setup::HORIZON_KEY);
                (cfg, mentions)
            }
            None => (RunConfig::default(), false),
        };
        self.apply(&mut cfg)?;
        let flag_sets_horizon = self
            .tuner_set
            .iter()
            .any(|(k, _)| k == tuner_setup::HORIZON_KEY);
        cfg.horizon_from_run =
            tuner_setup::has_horizon(&cfg.tuner) && !file_sets_horizon && !flag_sets_horizon;
        Ok(cfg)
    }

    /// Applies the options given to `cfg`.
    pub fn apply(&self, cfg: &mut RunConfig) -> Result<()> {
        let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
        if let Some(v) = self.backend {
            cfg.backend = v;
        }
        if let Some(v) = self.precision {
            cfg.precision = v;
        }
        if let Some(v) = &self.dataset {
            cfg.data.dataset = v.clone();
        }
        if let Some(v) = &self.data_dir {
            cfg.data.dir = Some(v.clone());
        }
        if let Some(v) = self.train_subset {
            cfg.data.train_subset = Some(v);
        }
        if let Some(v) = self.test_subset {
            cfg.data.test_subset = Some(v);
        }
        if self.standardize {
            cfg.data.standardize = true;
        }
        if let Some(v) = self.block_size {
            cfg.data.block_size = v;
        }
        if let Some(v) = &self.model {
            if !v.eq_ignore_ascii_case(&cfg.model.name) {
                cfg.model.config.clear();
            }
            cfg.model.name = v.clone();
        }
        for (k, v) in &self.model_set {
            cfg.model.config.insert(k.clone(), v.clone());
        }
        if let Some(v) = self.loss {
            cfg.loss = v;
        }
        if let Some(name) = &self.optimizer {
            if tuner_setup::variant_name(&cfg.optimizer).as_deref() != Some(name.as_str()) {
                cfg.optimizer = tuner_setup::default_base(name).map_err(|e| {
                    user(format!(
                        "--optimizer: {e:#}; valid optimizers: {}",
                        tuner_setup::BASE_NAMES.join(", ")
                    ))
                })?;
            }
        }
        for (k, v) in &self.optimizer_set {
            cfg.optimizer = set_field(&cfg.optimizer, k, v.clone(), "--optimizer-set")?;
        }
        if let Some(name) = &self.tuner {
            if tuner_setup::variant_name(&cfg.tuner).as_deref() != Some(name.as_str()) {
                cfg.tuner = tuner_setup::default_tuner(name).map_err(|e| {
                    user(format!(
                        "--tuner: {e:#}; valid tuners: {}",
                        tuner_setup::TUNER_NAMES.join(", ")
                    ))
                })?;
            }
        }
        if let Some(lr) = self.lr {
            let key = tuner_setup::lr_key(&cfg.tuner).ok_or_else(|| {
                user(format!(
                    "--lr: tuner `{}` chooses the learning rate itself; --lr applies to constant (lr), \
                     warmup-constant, linear-decay and cosine (peak_lr) and hypergradient (initial_lr); \
                     caps are set with --tuner-set max_lr=VALUE",
                    cfg.tuner.name()
                ))
            })?;
            cfg.tuner = set_field(&cfg.tuner, key, toml::Value::Float(lr), "--lr")?;
        }
        if let Some(m) = self.curvature {
            cfg.curvature = m;
        }
        if let Some(s) = self.sigma {
            cfg.tuner = set_field(
                &cfg.tuner,
                tuner_setup::SIGMA_KEY,
                toml::Value::Float(s),
                "--sigma",
            )?;
        }
        for (k, v) in &self.tuner_set {
            cfg.tuner = set_field(&cfg.tuner, k, v.clone(), "--tuner-set")?;
        }
        if let Some(v) = self.steps {
            cfg.train.steps = Some(v);
            cfg.train.epochs = None;
        }
        if let Some(v) = self.epochs {
            cfg.train.epochs = Some(v);
            cfg.train.steps = None;
        }
        if let Some(v) = self.batch_size {
            cfg.train.batch_size = Some(v);
        }
        if self.full_batch {
            cfg.train.batch_size = None;
        }
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        if let Some(v) = self.eval_every {
            cfg.train.eval_every = v;
        }
        if let Some(v) = self.eval_batch_size {
            cfg.train.eval_batch_size = v;
        }
        if let Some(v) = self.divergence_factor {
            cfg.train.divergence_factor = v;
        }
        if let Some(v) = self.sharpness_every {
            cfg.sharpness.every = v;
        }
        if let Some(v) = self.power_iters {
            cfg.sharpness.max_iters = v;
        }
        if let Some(v) = self.power_tol {
            cfg.sharpness.rel_tol = v;
        }
        if let Some(v) = &self.out {
            cfg.output.dir = Some(v.clone());
        }
        if let Some(v) = self.checkpoint_every {
            cfg.output.checkpoint_every = v;
        }
        if self.no_plots {
            cfg.output.plots = false;
        }
        Ok(())
    }
}
