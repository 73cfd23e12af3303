//! What the training loop is given (a [`TrainJob`], maybe a [`ResumeFrom`]) and what it
//! returns (a [`RunResult`]).

use std::path::{Path, PathBuf};

use cdat_models::ModelConfig;

use crate::run::checkpoint::{Checkpoint, CheckpointState};
use crate::run::config::RunConfig;
use crate::run::data::RunData;
use crate::run::metrics::{StepRecord, Summary};

/// Everything a run needs once inputs are checked and the output folder is ready.
pub struct TrainJob<'a> {
    /// The resolved configuration.
    pub config: &'a RunConfig,
    /// The model's full configuration.
    pub model_config: &'a ModelConfig,
    /// The data.
    pub data: &'a RunData,
    /// The output folder.
    pub out_dir: &'a Path,
    /// Continue from the output folder's checkpoint (read and verified by the caller).
    pub resume: Option<ResumeFrom>,
    /// Show the progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

/// A verified checkpoint and the step records up to it: where a resumed run starts.
#[derive(Clone, Debug)]
pub struct ResumeFrom {
    /// The checkpoint (checksum verified).
    pub checkpoint: Checkpoint,
    /// Its `state.json` (configuration hash verified).
    pub state: CheckpointState,
    /// The records of steps `1..=state.step` from `metrics.jsonl`.
    pub records: Vec<StepRecord>,
    /// Their lines, verbatim.
    pub lines: Vec<String>,
}

/// What a finished, diverged or interrupted run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The summary written to `summary.json`.
    pub summary: Summary,
    /// The output folder.
    pub out_dir: PathBuf,
    /// The files of the run in the output folder, as they are at its end (relative paths;
    /// `plots/*` stands for the rendered plots).
    pub files: Vec<String>,
    /// The step of the checkpoint in the folder, if there is one.
    pub checkpoint_step: Option<usize>,
    /// The signal that interrupted the run, if one did.
    pub interrupted_by: Option<i32>,
}
