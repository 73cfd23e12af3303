//! The run layer: one training run from a resolved configuration, and what it needs.
//!
//! - [`config`]: the configuration (defaults < `--config` file < flags), validated;
//! - [`data`], [`backend`], [`tuner_setup`]: the data set, the compute backend, the model's
//!   tuner and base optimizer (from `cdat-data`, Burn, `cdat-core` and `cdat-models`);
//! - [`execute`]: input checks, the output folder, and one run on a backend;
//! - [`training`]: the training loop;
//! - [`metrics`], [`checkpoint`], [`plots`]: what a run writes;
//! - [`lock`], [`interrupt`], [`error`], [`reserve`]: one run per folder, SIGINT/SIGTERM,
//!   exit statuses, room for the summary of a run a full disk stopped.
//!
//! It names no command and no command-line type: `cli` and `experiments` build on it.

pub mod backend;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod execute;
pub mod interrupt;
pub mod lock;
pub mod metrics;
pub mod plots;
pub mod reserve;
pub mod training;
pub mod tuner_setup;
