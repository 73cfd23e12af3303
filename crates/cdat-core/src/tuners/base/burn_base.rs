//! Any Burn [`SimpleOptimizer`] as a direction source ([`BurnBase`]), and Burn's own optimizer
//! configs as [`BaseOptimizerConfig`]s: `CdatConfig::new().init(AdamConfig::new())`.

use std::collections::HashMap;

use burn::module::ParamId;
use burn::optim::grad_clipping::GradientClipping;
use burn::optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, RmsProp, RmsPropConfig, Sgd,
    SgdConfig, SimpleOptimizer,
};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::clipping::{clip, configured};
use super::direction::{BaseDirection, BaseOptimizerConfig};
use crate::params::ParamVec;
use crate::tuners::error::StateError;

/// Any Burn [`SimpleOptimizer`] as a direction source: `u = step(1, w, g, s) − w`; the accepted
/// step is `step(η, w, g, s)` itself. Its state is one `O::State<1>` per parameter (keyed by
/// [`ParamId`], on flattened tensors: every supported optimizer is elementwise), committed only
/// when the tuner accepts the step. The config's gradient clipping is applied to `g` first, as
/// Burn's optimizer adaptor does.
///
/// One difference from Burn's optimizers: a parameter the loss does not depend on gets a zero
/// gradient here (and its optimizer state advances, e.g. Adam's step count), where Burn's
/// adaptor skips it.
pub struct BurnBase<B: Backend, O: SimpleOptimizer<B>> {
    name: &'static str,
    optim: O,
    clipping: Option<GradientClipping>,
    states: HashMap<ParamId, O::State<1>>,
    pending: Option<Pending<B, O>>,
}

struct Pending<B: Backend, O: SimpleOptimizer<B>> {
    w: ParamVec<B>,
    g: ParamVec<B>,
    states: Vec<(ParamId, Option<O::State<1>>)>,
}

impl<B: Backend, O: SimpleOptimizer<B>> BurnBase<B, O> {
    /// Wraps `optim` under a name (reported in records and errors), with optional gradient
    /// clipping.
    pub fn new(name: &'static str, optim: O, clipping: Option<GradientClipping>) -> Self {
        Self {
            name,
            optim,
            clipping,
            states: HashMap::new(),
            pending: None,
        }
    }

    /// The wrapped optimizer.
    pub fn optim(&self) -> &O {
        &self.optim
    }

    fn state_on(&self, id: &ParamId, like: &Tensor<B, 1>) -> Option<O::State<1>> {
        self.states
            .get(id)
            .cloned()
            .map(|s| O::to_device(s, &like.device()))
    }
}

impl<B, O> BaseDirection<B> for BurnBase<B, O>
where
    B: Backend,
    O: SimpleOptimizer<B>,
    O::State<1>: Send,
{
    /// Each parameter's state under its serialized [`ParamId`], sorted by it (the same state
    /// gives the same bytes).
    type Record = Vec<(String, O::State<1>)>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        let g = clip(g, self.clipping.as_ref());
        let mut u = Vec::with_capacity(w.entries().len());
        let mut states = Vec::with_capacity(w.entries().len());
        for ((id, wi), (gid, gi)) in w.entries().iter().zip(g.entries()) {
            assert_eq!(
                id, gid,
                "BurnBase::propose: parameter ids of w and g differ"
            );
            let (stepped, state) =
                self.optim
                    .step(1.0, wi.clone(), gi.clone(), self.state_on(id, wi));
            u.push((*id, stepped - wi.clone()));
            states.push((*id, state));
        }
        self.pending = Some(Pending {
            w: w.clone(),
            g,
            states,
        });
        ParamVec::from_entries(u)
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        let pending = self
            .pending
            .take()
            .expect("BurnBase::accept without propose");
        let mut out = Vec::with_capacity(pending.w.entries().len());
        for ((id, wi), (_, gi)) in pending.w.entries().iter().zip(pending.g.entries()) {
            let (stepped, _) = self
                .optim
                .step(eta, wi.clone(), gi.clone(), self.state_on(id, wi));
            out.push((*id, stepped));
        }
        for (id, state) in pending.states {
            match state {
                Some(s) => {
                    self.states.insert(id, s);
                }
                None => {
                    self.states.remove(&id);
                }
            }
        }
        ParamVec::from_entries(out)
    }

    fn reject(&mut self) {
        self.pending = None;
    }

    fn to_record(&self) -> Self::Record {
        let mut entries: Self::Record = self
            .states
            .iter()
            .map(|(id, s)| (id.serialize(), s.clone()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    fn load_record(&mut self, record: Self::Record) -> Result<(), StateError> {
        self.states = record
            .into_iter()
            .map(|(id, s)| (ParamId::deserialize(&id), s))
            .collect();
        self.pending = None;
        Ok(())
    }
}

/// One [`BaseOptimizerConfig`] per Burn optimizer config: its name, its `SimpleOptimizer`, and
/// the config key of its gradient clipping.
macro_rules! burn_config {
    ($config:ty, $optim:ty, $name:literal, $clipping:literal) => {
        impl<B: Backend> BaseOptimizerConfig<B> for $config {
            type Base = BurnBase<B, $optim>;

            fn init_base(&self) -> Self::Base {
                BurnBase::new($name, self.build(), configured(self, $clipping))
            }
        }
    };
}

burn_config!(AdamConfig, Adam, "adam", "grad_clipping");
burn_config!(AdamWConfig, AdamW, "adamw", "grad_clipping");
burn_config!(RmsPropConfig, RmsProp, "rmsprop", "grad_clipping");
burn_config!(AdaGradConfig, AdaGrad, "adagrad", "grad_clipping");

impl<B: Backend> BaseOptimizerConfig<B> for SgdConfig {
    type Base = BurnBase<B, Sgd<B>>;

    /// Named `"momentum"` when the config sets momentum, else `"sgd"`.
    fn init_base(&self) -> Self::Base {
        let name = match serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("momentum").cloned())
        {
            Some(m) if !m.is_null() => "momentum",
            _ => "sgd",
        };
        BurnBase::new(
            name,
            self.build::<B>(),
            configured(self, "gradient_clipping"),
        )
    }
}
