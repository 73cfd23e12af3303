//! The step every tuner shares: gradient, base direction, a rule choosing `η`, the update.
//!
//! ```text
//! f, g  = f(w), ∇f(w)                      (one gradient pass)
//! u     = base direction (learning rate 1)
//! η     = rule(f, g, u, and whatever it measures through the StepContext)
//! w'    = w + η·u                          (the base optimizer's own step with learning rate η)
//! ```
//!
//! Non-finite `f`, `‖g‖`, `‖u‖`, `gᵀu`, curvature or `η` reject the step: the model, the base
//! optimizer's state and the rule's state are left as they were.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;

use super::base::BaseDirection;
use super::state::{RuleState, StateError, TunerRecord};
use super::{LossFn, StepError, StepReport, Tuner};
use crate::curvature::{
    apply_update, directional_curvature_with, gradient, parameters, CurvatureMethod, HvpBackend,
};
use crate::dual::Dual;
use crate::params::{map_autodiff_params_with, ParamVec};
use crate::spectrum::{sharpness, Eigenpair, PowerIterationConfig};

/// A rule choosing the learning rate `η` for the base direction of one step.
pub trait LrRule<B: Backend>: Clone + Send + 'static {
    /// The tuner's name (as in `TunerConfig`).
    fn name(&self) -> &'static str;

    /// Chooses `η ≥ 0` for the direction in `ctx`. Any change to `self` is undone if the step is
    /// rejected (the driver restores a clone).
    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError>;

    /// The learning rate the next step would take if known in advance (schedules, constant,
    /// hypergradient), else the last one taken.
    fn lr_hint(&self, steps: usize) -> Option<f64>;

    /// Writes the rule's state.
    fn save(&self, state: &mut RuleState<B>);

    /// Reads the rule's state back.
    fn load(&mut self, state: &RuleState<B>) -> Result<(), StateError>;
}

/// What a rule sees of one step, and the measurements it may ask for.
pub struct StepContext<'a, B: Backend, M> {
    model: &'a M,
    loss_fn: &'a LossFn<'a, B, M>,
    /// Accepted steps before this one.
    pub step: usize,
    /// `f(w)`.
    pub loss: f64,
    /// `g = ∇f(w)`.
    pub grad: &'a ParamVec<B>,
    /// The base direction `u`.
    pub dir: &'a ParamVec<B>,
    /// `gᵀu`.
    pub slope: f64,
    /// `‖g‖`.
    pub grad_norm: f64,
    /// `‖u‖`.
    pub dir_norm: f64,
    method: CurvatureMethod,
    report: StepReport,
}

impl<B: Backend, M: AutodiffModule<HvpBackend<B>>> StepContext<'_, B, M> {
    /// `uᵀHu` by one forward pass of a second-order jet, or one forward-over-reverse pass,
    /// as the tuner's [`CurvatureMethod`] says (cached; counted as one HVP).
    pub fn curvature(&mut self) -> Result<f64, StepError> {
        if let Some(c) = self.report.curvature {
            return Ok(c);
        }
        let dc = directional_curvature_with(self.model, self.loss_fn, self.dir, self.method);
        self.report.hvp_evals += 1;
        if !dc.curvature.is_finite() {
            return Err(StepError::NonFinite {
                what: "curvature uᵀHu",
                value: dc.curvature,
            });
        }
        self.report.curvature = Some(dc.curvature);
        Ok(dc.curvature)
    }

    /// `f(w + η·u)` without building a graph (counted as one loss evaluation); may be non-finite.
    pub fn loss_at(&mut self, eta: f64) -> f64 {
        self.report.loss_evals += 1;
        let probe = apply_update(self.model.clone(), self.dir, eta).no_grad();
        let loss = (self.loss_fn)(&probe);
        Dual::<B>::primal(loss.inner()).into_scalar().elem::<f64>()
    }

    /// The sharpness λmax by power iteration on exact HVPs from `start` (a previous eigenvector)
    /// or a random vector; counted as `iterations` HVPs.
    pub fn sharpness(
        &mut self,
        start: Option<ParamVec<B>>,
        config: PowerIterationConfig,
    ) -> Result<Eigenpair<B>, StepError> {
        let pair = sharpness(self.model, self.loss_fn, start, config);
        self.report.hvp_evals += pair.iterations;
        self.report.sharpness = Some(pair.value);
        if !pair.value.is_finite() {
            return Err(StepError::NonFinite {
                what: "sharpness λmax",
                value: pair.value,
            });
        }
        Ok(pair)
    }

    /// Adds a note to the step's report (joined with `"; "`).
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        self.report.note = Some(match self.report.note.take() {
            Some(prev) => format!("{prev}; {note}"),
            None => note,
        });
    }
}

/// A tuner: a base direction and a learning-rate rule, driven by the shared step.
pub struct Tuned<B: Backend, R: LrRule<B>> {
    base: Box<dyn BaseDirection<B> + Send>,
    rule: R,
    steps: usize,
    method: CurvatureMethod,
}

impl<B: Backend, R: LrRule<B>> Tuned<B, R> {
    /// A tuner taking `rule`'s learning rate along `base`'s direction.
    pub fn new(base: Box<dyn BaseDirection<B> + Send>, rule: R) -> Self {
        Self {
            base,
            rule,
            steps: 0,
            method: CurvatureMethod::default(),
        }
    }

    /// The same tuner computing `uᵀHu` by `method`.
    pub fn with_curvature_method(mut self, method: CurvatureMethod) -> Self {
        self.method = method;
        self
    }

    /// The rule (with its current state).
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// Accepted steps so far.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

fn nonfinite<M>(model: M, what: &'static str, value: f64) -> (M, Result<StepReport, StepError>) {
    (model, Err(StepError::NonFinite { what, value }))
}

impl<B, M, R> Tuner<B, M> for Tuned<B, R>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
    R: LrRule<B>,
{
    fn step(&mut self, model: M, loss_fn: &LossFn<'_, B, M>) -> (M, Result<StepReport, StepError>) {
        let (loss, grad) = gradient(&model, loss_fn);
        if !loss.is_finite() {
            return nonfinite(model, "loss", loss);
        }
        let grad_norm = grad.norm();
        if !grad_norm.is_finite() {
            return nonfinite(model, "gradient norm ‖g‖", grad_norm);
        }
        let w = parameters(&model);
        let dir = self.base.propose(&w, &grad);
        let dir_norm = dir.norm();
        let slope = grad.dot(&dir);
        if !dir_norm.is_finite() || !slope.is_finite() {
            self.base.reject();
            let (what, value) = if dir_norm.is_finite() {
                ("slope gᵀu", slope)
            } else {
                ("direction norm ‖u‖", dir_norm)
            };
            return nonfinite(model, what, value);
        }
        let report = StepReport {
            loss,
            slope,
            grad_norm,
            dir_norm,
            grad_evals: 1,
            ..Default::default()
        };
        let mut ctx = StepContext {
            model: &model,
            loss_fn,
            step: self.steps,
            loss,
            grad: &grad,
            dir: &dir,
            slope,
            grad_norm,
            dir_norm,
            method: self.method,
            report,
        };
        let saved = self.rule.clone();
        let eta = match self.rule.choose(&mut ctx) {
            Ok(eta) if eta.is_finite() && eta >= 0.0 => eta,
            other => {
                self.rule = saved;
                self.base.reject();
                let err = match other {
                    Ok(eta) => StepError::NonFinite {
                        what: "learning rate η",
                        value: eta,
                    },
                    Err(e) => e,
                };
                return (model, Err(err));
            }
        };
        let mut report = ctx.report;
        report.lr = eta;
        let new_w = self.base.accept(eta);
        self.steps += 1;
        let model = if eta == 0.0 {
            model
        } else {
            map_autodiff_params_with::<HvpBackend<B>, B, M>(model, &new_w, |_, v| Dual::constant(v))
        };
        (model, Ok(report))
    }

    fn name(&self) -> &'static str {
        self.rule.name()
    }

    fn base_name(&self) -> &'static str {
        self.base.name()
    }

    fn lr_hint(&self) -> Option<f64> {
        self.rule.lr_hint(self.steps)
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn set_curvature_method(&mut self, method: CurvatureMethod) {
        self.method = method;
    }

    fn save_state(&self) -> Vec<u8> {
        let mut rule = RuleState::default();
        self.rule.save(&mut rule);
        let (scalars, vectors) = rule.into_record_parts();
        TunerRecord::<B> {
            tuner: self.rule.name().to_string(),
            base: self.base.name().to_string(),
            steps: self.steps,
            scalars,
            vectors,
            base_state: self.base.save(),
        }
        .to_bytes()
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let record = TunerRecord::<B>::from_bytes(bytes)?;
        if record.tuner != self.rule.name() {
            return Err(StateError::Mismatch {
                what: "tuner",
                expected: self.rule.name().to_string(),
                found: record.tuner,
            });
        }
        if record.base != self.base.name() {
            return Err(StateError::Mismatch {
                what: "base optimizer",
                expected: self.base.name().to_string(),
                found: record.base,
            });
        }
        let mut rule = self.rule.clone();
        rule.load(&RuleState::from_record_parts(
            record.scalars,
            record.vectors,
        ))?;
        self.base.load(&record.base_state)?;
        self.rule = rule;
        self.steps = record.steps;
        Ok(())
    }
}
