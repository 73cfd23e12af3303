//! Learning-rate tuners (Roulet et al., NeurIPS 2024): given a base optimizer's direction `u`
//! (the update it would take with learning rate 1), choose `η` and update `w ← w + η u`.
//!
//! A tuner is built like a Burn optimizer, from its config and Burn's own optimizer config, and
//! its state is a Burn record:
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::AdamConfig;
//! use cdat_core::tuners::{CdatConfig, RuleConfig};
//!
//! let tuner = CdatConfig::new().with_sigma(2.0).init::<NdArray, _>(AdamConfig::new());
//! let record = tuner.to_record(); // save it with any Burn recorder
//! let mut fresh = CdatConfig::new().with_sigma(2.0).init::<NdArray, _>(AdamConfig::new());
//! fresh.load_record(record).unwrap();
//! ```
//!
//! Each step (`Tuner::step`) takes the model and a closure computing the loss of a model on the
//! current batch, and returns the updated model and a [`StepReport`].
//!
//! Module order, bottom to top (a file imports only from files before it; this file only
//! declares and re-exports):
//!
//! 1. [`error`]: config, step and state errors, range checks;
//! 2. [`tuner`]: the object-safe [`Tuner`] trait and [`StepReport`];
//! 3. [`base`]: base directions from Burn's optimizer configs ([`BaseOptimizerConfig`]) and
//!    the CLI's [`BaseConfig`];
//!    [`peers`]: the mean over data-parallel peers ([`AllReduce`]), and [`collective`], its
//!    implementation on Burn's collective operations;
//! 4. [`driver`]: the step every tuner shares ([`Tuned`]), [`LrRule`], [`RuleConfig`];
//! 5. [`guards`]: the zero-curvature and cap guards of the curvature rules;
//! 6. one file per rule: [`constant`], [`schedule`], [`linesearch`], [`polyak`],
//!    [`hypergradient`], [`greedy`], [`cdat`], [`sharpness`];
//! 7. [`registry`]: the list of tuners and [`TunerConfig`], the serde layer the CLI needs.

pub mod base;
pub mod cdat;
pub mod collective;
pub mod constant;
pub mod driver;
pub mod error;
pub mod greedy;
pub mod guards;
pub mod hypergradient;
pub mod linesearch;
pub mod peers;
pub mod polyak;
pub mod registry;
pub mod schedule;
pub mod sharpness;
pub mod tuner;

pub use base::{
    BaseConfig, BaseDirection, BaseOptimizerConfig, BurnBase, DynBase, GradientDescent,
    GradientDescentConfig,
};
pub use cdat::{Cdat, CdatConfig, CdatRecord};
pub use collective::Collective;
pub use constant::{Constant, ConstantConfig};
pub use driver::{LrRule, RuleConfig, StepContext, Tuned, TunedRecord};
pub use error::{ConfigError, StateError, StepError};
pub use greedy::{Greedy, GreedyConfig};
pub use hypergradient::{Hypergradient, HypergradientConfig, HypergradientRecord};
pub use linesearch::{Linesearch, LinesearchConfig};
pub use peers::AllReduce;
pub use polyak::{Polyak, PolyakConfig};
pub use registry::{BoxedTuner, ConfigVisitor, TunerConfig, TUNER_NAMES};
pub use schedule::{CosineConfig, LinearDecayConfig, Schedule, ScheduleKind, WarmupConstantConfig};
pub use sharpness::{SharpnessConfig, SharpnessRecord, SharpnessRule};
pub use tuner::{LossFn, StepReport, Tuner};
