//! When a run measures the sharpness, evaluates and writes a checkpoint: the policies the
//! training loop asks, step by step.

use crate::run::config::RunConfig;

/// Steps at which something measured every `every` steps is measured: step 1, every multiple
/// of `every`, and the last step (never when `every` is 0).
pub fn is_measured(step: usize, every: usize, total: usize) -> bool {
    is_regular(step, every) || (every > 0 && step == total)
}

/// Step 1 and every multiple of `every` (never when `every` is 0).
pub fn is_regular(step: usize, every: usize) -> bool {
    every > 0 && (step == 1 || step.is_multiple_of(every))
}

/// A sharpness measurement due at a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// A regular one (step 1 and multiples of the interval), which carries its eigenvector on
    /// as the next warm start; the extra one at the last step leaves the warm start as it was,
    /// so that the state after a step does not depend on where the run stops (resumed runs
    /// match).
    pub regular: bool,
}

/// The intervals of a run and its length.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Steps of the run.
    pub total_steps: usize,
    sharpness_every: usize,
    eval_every: usize,
    checkpoint_every: usize,
}

impl Schedule {
    /// The schedule of `config` for a run of `total_steps` steps.
    pub fn new(config: &RunConfig, total_steps: usize) -> Self {
        Self {
            total_steps,
            sharpness_every: config.sharpness.every,
            eval_every: config.train.eval_every,
            checkpoint_every: config.output.checkpoint_every,
        }
    }

    /// The sharpness measurement due at `step`, if any.
    pub fn sharpness(&self, step: usize) -> Option<Measurement> {
        is_measured(step, self.sharpness_every, self.total_steps).then(|| Measurement {
            regular: is_regular(step, self.sharpness_every),
        })
    }

    /// Whether train and test sets are evaluated at `step`.
    pub fn evaluates(&self, step: usize) -> bool {
        is_measured(step, self.eval_every, self.total_steps)
    }

    /// Whether a checkpoint is written after `step`: every `checkpoint_every` steps and at the
    /// end.
    pub fn checkpoints(&self, step: usize) -> bool {
        let every = self.checkpoint_every;
        (every > 0 && step.is_multiple_of(every)) || step == self.total_steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(sharpness: usize, eval: usize, checkpoint: usize, total: usize) -> Schedule {
        let mut c = RunConfig::default();
        c.sharpness.every = sharpness;
        c.train.eval_every = eval;
        c.output.checkpoint_every = checkpoint;
        Schedule::new(&c, total)
    }

    fn steps(total: usize, f: impl Fn(usize) -> bool) -> Vec<usize> {
        (1..=total).filter(|s| f(*s)).collect()
    }

    #[test]
    fn measures_at_step_1_every_multiple_and_the_last_step() {
        let s = schedule(10, 4, 50, 25);
        assert_eq!(steps(25, |t| s.sharpness(t).is_some()), [1, 10, 20, 25]);
        assert_eq!(
            steps(25, |t| s.sharpness(t).is_some_and(|m| m.regular)),
            [1, 10, 20]
        );
        assert_eq!(steps(25, |t| s.evaluates(t)), [1, 4, 8, 12, 16, 20, 24, 25]);
        let never = schedule(0, 0, 0, 25);
        assert!(steps(25, |t| never.sharpness(t).is_some() || never.evaluates(t)).is_empty());
    }

    #[test]
    fn checkpoints_every_interval_and_at_the_end() {
        assert_eq!(
            steps(120, |t| schedule(10, 10, 50, 120).checkpoints(t)),
            [50, 100, 120]
        );
        assert_eq!(
            steps(120, |t| schedule(10, 10, 0, 120).checkpoints(t)),
            [120]
        );
    }
}
