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

use core::marker::PhantomData;

use burn::module::AutodiffModule;
use burn::record::{PrecisionSettings, Record, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;

use super::base::{recorder, BaseDirection, BaseOptimizerConfig, DynBase};
use super::error::{ConfigError, StateError, StepError};
use super::peers::AllReduce;
use super::tuner::{LossFn, StepReport, Tuner};
use crate::curvature::{
    apply_update, directional_curvature_with, gradient, hvp, parameters, CurvatureMethod,
    HvpBackend,
};
use crate::dual::Dual;
use crate::params::{map_autodiff_params_with, ParamVec};
use crate::spectrum::{extreme_eigenpair, random_direction, Eigenpair, PowerIterationConfig};

/// A rule choosing the learning rate `η` for the base direction of one step.
pub trait LrRule<B: Backend>: Clone + Send + 'static {
    /// The rule's state (EMAs, previous η, eigenvector, ...), as a Burn record.
    type Record: Record<B>;

    /// The tuner's name (its config's [`RuleConfig::NAME`]).
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

    /// The rule's state.
    fn to_record(&self) -> Self::Record;

    /// Restores a state from [`to_record`](Self::to_record).
    fn load_record(&mut self, record: Self::Record);
}

/// The hyperparameters of a rule (a Burn `#[derive(Config)]`), which build it over any base
/// direction: `CdatConfig::new().with_sigma(1.0).init(AdamConfig::new())`.
pub trait RuleConfig: Clone + core::fmt::Debug + Default + 'static {
    /// The tuner's name, in config files and on the command line.
    const NAME: &'static str;

    /// Whether the rule measures curvature (a jet pass or HVPs) every step.
    const USES_CURVATURE: bool = false;

    /// The hyperparameter that `--lr` sets, for rules that take a learning rate.
    const LR_KEY: Option<&'static str> = None;

    /// The rule.
    type Rule<B: Backend>: LrRule<B>;

    /// Checks every hyperparameter's range; the error names the field as `name.field`.
    fn validate(&self) -> Result<(), ConfigError>;

    /// The rule (unvalidated).
    fn rule<B: Backend>(&self) -> Self::Rule<B>;

    /// The schedule's horizon, for rules that have one (the trainer sets it to the run length).
    fn horizon_mut(&mut self) -> Option<&mut usize> {
        None
    }

    /// The tuner taking this rule's η along the direction of `base` (a Burn optimizer config
    /// such as `AdamConfig`, or [`GradientDescentConfig`](super::base::GradientDescentConfig)).
    ///
    /// # Panics
    /// If a hyperparameter is out of range (the message names it); [`validate`](Self::validate)
    /// checks without panicking.
    fn init<B: Backend, O: BaseOptimizerConfig<B>>(
        &self,
        base: O,
    ) -> Tuned<B, Self::Rule<B>, O::Base> {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        Tuned::new(base.init_base(), self.rule())
    }
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
    peers: Option<&'a dyn AllReduce<B>>,
    report: StepReport,
}

impl<B: Backend, M: AutodiffModule<HvpBackend<B>>> StepContext<'_, B, M> {
    /// `x` over the data-parallel peers (their mean), or `x` on one device.
    fn mean_scalar(&self, x: f64) -> f64 {
        self.peers.map_or(x, |p| p.mean_scalar(x))
    }

    /// `uᵀHu` by one forward pass of a second-order jet, or one forward-over-reverse pass,
    /// as the tuner's [`CurvatureMethod`] says (cached; counted as one HVP).
    pub fn curvature(&mut self) -> Result<f64, StepError> {
        if let Some(c) = self.report.curvature {
            return Ok(c);
        }
        let dc = directional_curvature_with(self.model, self.loss_fn, self.dir, self.method);
        let curvature = self.mean_scalar(dc.curvature);
        self.report.hvp_evals += 1;
        if !curvature.is_finite() {
            return Err(StepError::NonFinite {
                what: "curvature uᵀHu",
                value: curvature,
            });
        }
        self.report.curvature = Some(curvature);
        Ok(curvature)
    }

    /// `f(w + η·u)` without building a graph (counted as one loss evaluation); may be non-finite.
    pub fn loss_at(&mut self, eta: f64) -> f64 {
        self.report.loss_evals += 1;
        let probe = apply_update(self.model.clone(), self.dir, eta).no_grad();
        let loss = (self.loss_fn)(&probe);
        self.mean_scalar(Dual::<B>::primal(loss.inner()).into_scalar().elem::<f64>())
    }

    /// The sharpness λmax by power iteration on exact HVPs from `start` (a previous eigenvector)
    /// or a random vector; counted as `iterations` HVPs.
    pub fn sharpness(
        &mut self,
        start: Option<ParamVec<B>>,
        config: PowerIterationConfig,
    ) -> Result<Eigenpair<B>, StepError> {
        let (model, loss_fn, peers) = (self.model, self.loss_fn, self.peers);
        let mean = |v: ParamVec<B>| match peers {
            Some(p) => p.mean(v),
            None => v,
        };
        // A random start differs between peers: their mean is one start for all.
        let start = start.unwrap_or_else(|| mean(random_direction(model)));
        let pair = extreme_eigenpair(|v| mean(hvp(model, loss_fn, v).hv), start, config);
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

/// A tuner: a base direction and a learning-rate rule, driven by the shared step. Built by
/// [`RuleConfig::init`] (statically typed, `D` the base's own type) or by the registry
/// (`D` = [`DynBase`], for the CLI).
pub struct Tuned<B: Backend, R: LrRule<B>, D: BaseDirection<B> = DynBase<B>> {
    base: D,
    rule: R,
    steps: usize,
    method: CurvatureMethod,
    peers: Option<Box<dyn AllReduce<B>>>,
    backend: PhantomData<fn() -> B>,
}

/// The whole state of a [`Tuned`]: the names (checked on load), the accepted steps, the rule's
/// record and the base optimizer's record.
#[derive(Clone, Debug)]
pub struct TunedRecord<B: Backend, R: LrRule<B>, D: BaseDirection<B>> {
    /// The tuner's name.
    pub tuner: String,
    /// The base optimizer's name.
    pub base: String,
    /// Accepted steps so far.
    pub steps: usize,
    /// The rule's state.
    pub rule: R::Record,
    /// The base optimizer's state.
    pub base_state: D::Record,
}

type TunedRecordParts<B, R, D> = (
    String,
    String,
    usize,
    <R as LrRule<B>>::Record,
    <D as BaseDirection<B>>::Record,
);

impl<B: Backend, R: LrRule<B>, D: BaseDirection<B>> Record<B> for TunedRecord<B, R, D> {
    type Item<S: PrecisionSettings> = <TunedRecordParts<B, R, D> as Record<B>>::Item<S>;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        (
            self.tuner,
            self.base,
            self.steps,
            self.rule,
            self.base_state,
        )
            .into_item()
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, device: &B::Device) -> Self {
        let (tuner, base, steps, rule, base_state) =
            <TunedRecordParts<B, R, D> as Record<B>>::from_item(item, device);
        Self {
            tuner,
            base,
            steps,
            rule,
            base_state,
        }
    }
}

impl<B: Backend, R: LrRule<B>, D: BaseDirection<B>> Tuned<B, R, D> {
    /// A tuner taking `rule`'s learning rate along `base`'s direction.
    pub fn new(base: D, rule: R) -> Self {
        Self {
            base,
            rule,
            steps: 0,
            method: CurvatureMethod::default(),
            peers: None,
            backend: PhantomData,
        }
    }

    /// The same tuner as one of several data-parallel peers: everything it measures on its
    /// shard (loss, gradient, `uᵀHu`, probe losses, HVPs) is replaced by the mean over the
    /// peers ([`AllReduce`], e.g. [`Collective`](super::collective::Collective)), so every peer
    /// takes the step one device would take on the whole batch.
    pub fn with_all_reduce(mut self, peers: impl AllReduce<B> + 'static) -> Self {
        self.peers = Some(Box::new(peers));
        self
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

    /// The learning rate the next step will take when known in advance, else the last one.
    pub fn lr_hint(&self) -> Option<f64> {
        self.rule.lr_hint(self.steps)
    }

    /// The tuner's whole state, as a Burn record (save it with any Burn recorder).
    pub fn to_record(&self) -> TunedRecord<B, R, D> {
        TunedRecord {
            tuner: self.rule.name().to_string(),
            base: self.base.name().to_string(),
            steps: self.steps,
            rule: self.rule.to_record(),
            base_state: self.base.to_record(),
        }
    }

    /// Restores a state from [`to_record`](Self::to_record): the next steps are those the
    /// saved tuner would have taken. A record of another tuner or base optimizer is an error,
    /// and on error nothing changes.
    pub fn load_record(&mut self, record: TunedRecord<B, R, D>) -> Result<(), StateError> {
        self.check_names(&record.tuner, &record.base)?;
        self.base.load_record(record.base_state)?;
        self.rule.load_record(record.rule);
        self.steps = record.steps;
        Ok(())
    }

    /// A record's names against this tuner's.
    fn check_names(&self, tuner: &str, base: &str) -> Result<(), StateError> {
        for (what, expected, found) in [
            ("tuner", self.rule.name(), tuner),
            ("base optimizer", self.base.name(), base),
        ] {
            if expected != found {
                return Err(StateError::Mismatch {
                    what,
                    expected: expected.to_string(),
                    found: found.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// The bytes of a tuner's state: its names first (so that a record of another tuner is
/// reported as such, not as undecodable), then its [`TunedRecord`]'s own bytes.
type StateEnvelope = (String, String, Vec<u8>);

fn nonfinite<M>(model: M, what: &'static str, value: f64) -> (M, Result<StepReport, StepError>) {
    (model, Err(StepError::NonFinite { what, value }))
}

impl<B, M, R, D> Tuner<B, M> for Tuned<B, R, D>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
    R: LrRule<B>,
    D: BaseDirection<B>,
{
    fn step(&mut self, model: M, loss_fn: &LossFn<'_, B, M>) -> (M, Result<StepReport, StepError>) {
        let (loss, grad) = gradient(&model, loss_fn);
        let (loss, grad) = match &self.peers {
            Some(p) => (p.mean_scalar(loss), p.mean(grad)),
            None => (loss, grad),
        };
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
            peers: self.peers.as_deref(),
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
        let record = self.to_record();
        let (tuner, base) = (record.tuner.clone(), record.base.clone());
        let inner = Recorder::<B>::record(&recorder(), record, ())
            .expect("encoding a tuner record cannot fail");
        let envelope: StateEnvelope = (tuner, base, inner);
        Recorder::<B>::record(&recorder(), envelope, ())
            .expect("encoding a tuner record cannot fail")
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let decode = |e: burn::record::RecorderError| StateError::Decode(e.to_string());
        let (tuner, base, inner): StateEnvelope =
            Recorder::<B>::load(&recorder(), bytes.to_vec(), &Default::default())
                .map_err(decode)?;
        self.check_names(&tuner, &base)?;
        let record =
            Recorder::<B>::load(&recorder(), inner, &Default::default()).map_err(decode)?;
        self.load_record(record)
    }
}
