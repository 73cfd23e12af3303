//! Plain gradient descent as a direction source: `u = −g` exactly, no state. Burn's `Sgd`
//! would give `(w − g) − w`, which differs from `−g` by rounding; the step `w + η·u` here is
//! bitwise Burn's `Sgd` step `w − η·g`.

use burn::config::Config;
use burn::optim::grad_clipping::{GradientClipping, GradientClippingConfig};
use burn::tensor::backend::Backend;

use super::clipping::clip;
use super::direction::{BaseDirection, BaseOptimizerConfig};
use crate::params::ParamVec;
use crate::tuners::error::StateError;

/// Configuration of [`GradientDescent`].
#[derive(Config, Debug)]
pub struct GradientDescentConfig {
    /// Gradient clipping, as on Burn's optimizer configs.
    #[config(default = "None")]
    pub gradient_clipping: Option<GradientClippingConfig>,
}

impl Default for GradientDescentConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> BaseOptimizerConfig<B> for GradientDescentConfig {
    type Base = GradientDescent<B>;

    fn init_base(&self) -> GradientDescent<B> {
        GradientDescent {
            clipping: self.gradient_clipping.as_ref().map(|c| c.init()),
            pending: None,
        }
    }
}

/// `u = −g` (with `g` clipped if the config says so), no state.
#[derive(Clone)]
pub struct GradientDescent<B: Backend> {
    clipping: Option<GradientClipping>,
    pending: Option<(ParamVec<B>, ParamVec<B>)>,
}

impl<B: Backend> Default for GradientDescent<B> {
    fn default() -> Self {
        GradientDescentConfig::new().init_base()
    }
}

impl<B: Backend> BaseDirection<B> for GradientDescent<B> {
    type Record = ();

    fn name(&self) -> &'static str {
        "gd"
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        let g = clip(g, self.clipping.as_ref());
        let u = g.map(|t| t.neg());
        self.pending = Some((w.clone(), g));
        u
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        let (w, g) = self
            .pending
            .take()
            .expect("GradientDescent::accept without propose");
        w.zip_map(&g, |w, g| w - g.mul_scalar(eta))
    }

    fn reject(&mut self) {
        self.pending = None;
    }

    fn to_record(&self) {}

    fn load_record(&mut self, _record: ()) -> Result<(), StateError> {
        self.pending = None;
        Ok(())
    }
}
