//! Exact second-order quantities of a loss `f(w)` of a Burn module's parameters:
//! Hessian-vector products `H v`, directional curvature `uᵀ H u`, and the top of the Hessian's
//! spectrum (power iteration, Lanczos, and the preconditioned variant).
//!
//! The module lives on `Autodiff<Dual<B>>` ([`HvpBackend`]); two engines share it:
//!
//! - **Second-order forward mode** (the default for `uᵀHu`, [`CurvatureMethod::Jet`]): along
//!   the update the parameters move linearly, `w(t) = w + t·u`, so
//!   `f(w(t)) = f + t·gᵀu + ½t²·uᵀHu + …`. The parameters get the jet `(w, u, 0)` and are not
//!   tracked by the tape; one forward pass of the module as it is gives `f`, `gᵀu` and `uᵀHu`
//!   as the loss's three coefficients: no backward pass, no tape, about the memory of inference.
//! - **Forward-over-reverse** ([`hvp`], [`CurvatureMethod::ForwardOverReverse`]): the
//!   parameters get the tangent `v`, one backward pass then yields gradients whose tangents are
//!   `H v`; the loss's own tangent is `gᵀ v` for free. Sharpness (power iteration, Lanczos)
//!   needs the whole vector `H v` and uses this engine.

use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use crate::dual::Dual;
use crate::params::{ensure_initialized, map_autodiff_params_with, map_params_with, ParamVec};

/// How [`directional_curvature_with`] computes `uᵀHu`. Named `jet` and
/// `forward-over-reverse` (serde and [`FromStr`](core::str::FromStr)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CurvatureMethod {
    /// One forward pass carrying a second-order jet (no tape, no backward pass).
    #[default]
    Jet,
    /// One forward and one backward pass on dual numbers: `uᵀ·(H u)`.
    ForwardOverReverse,
}

/// The backend a model must live on for exact Hessian-vector products: Burn's reverse mode over
/// forward mode over `B`. With no tangents set it trains like `Autodiff<B>`.
pub type HvpBackend<B> = Autodiff<Dual<B>>;

impl CurvatureMethod {
    /// Every method's name.
    pub const NAMES: &'static [&'static str] = &["jet", "forward-over-reverse"];

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            CurvatureMethod::Jet => Self::NAMES[0],
            CurvatureMethod::ForwardOverReverse => Self::NAMES[1],
        }
    }
}

impl core::str::FromStr for CurvatureMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [CurvatureMethod::Jet, CurvatureMethod::ForwardOverReverse]
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown curvature method `{s}`; expected one of: {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

impl core::fmt::Display for CurvatureMethod {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Loss value, gradient and Hessian-vector product at the current parameters.
#[derive(Clone, Debug)]
pub struct Hvp<B: Backend> {
    /// `f(w)`.
    pub loss: f64,
    /// `gᵀ v`, the directional derivative along `v`.
    pub grad_dot_v: f64,
    /// `g = ∇f(w)`.
    pub grad: ParamVec<B>,
    /// `H v`.
    pub hv: ParamVec<B>,
}

/// Loss value, slope and curvature of the loss along a direction `u`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DirectionalCurvature {
    /// `f(w)`.
    pub loss: f64,
    /// `gᵀ u`.
    pub slope: f64,
    /// `uᵀ H u`.
    pub curvature: f64,
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// The parameter values of a module on `HvpBackend<B>`, on `B`.
pub fn parameters<B, M>(module: &M) -> ParamVec<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    ParamVec::<HvpBackend<B>>::from_module(module).map(|t| Dual::<B>::primal(t.inner()))
}

/// The update `w ← w + eta · u` of a module on `HvpBackend<B>`; the parameters stay
/// gradient-requiring leaves without tangents.
pub fn apply_update<B, M>(module: M, u: &ParamVec<B>, eta: f64) -> M
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    map_autodiff_params_with::<HvpBackend<B>, B, M>(module, u, |w, ui| {
        Dual::constant(Dual::<B>::primal(w) + ui.mul_scalar(eta))
    })
}

/// Sets the tangent of every parameter of `module` to `v` (reshaped), keeping the parameters
/// as gradient-requiring leaves.
fn with_tangents<B, M>(module: M, v: &ParamVec<B>) -> M
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    map_autodiff_params_with::<HvpBackend<B>, B, M>(module, v, |w, vi| {
        Dual::with_tangent(Dual::<B>::primal(w), vi)
    })
}

/// Exact Hessian-vector product by forward-over-reverse autodiff: one forward and one backward
/// pass of `loss_fn(module)` on dual numbers.
///
/// `loss_fn` returns the scalar loss (a one-element tensor) of the module on the current batch.
pub fn hvp<B, M>(
    module: &M,
    loss_fn: impl FnOnce(&M) -> Tensor<HvpBackend<B>, 1>,
    v: &ParamVec<B>,
) -> Hvp<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    ensure_initialized(module);
    let tangent_module = with_tangents(module.clone(), v);
    let loss = loss_fn(&tangent_module);
    let (loss_primal, loss_tangent) = Dual::<B>::split(loss.clone().inner());
    let grads = loss.backward();
    let zero_or =
        |t: Option<Tensor<B, 1>>, like: &Tensor<B, 1>| t.unwrap_or_else(|| like.zeros_like());
    let mut grad = Vec::new();
    let mut hv = Vec::new();
    for (id, vi) in v.entries() {
        let (g, h) = grad_of_param(&tangent_module, id, &grads)
            .map(|g| Dual::<B>::split(g))
            .map_or((None, None), |(g, h)| (Some(g), h));
        grad.push((*id, zero_or(g, vi)));
        hv.push((*id, zero_or(h, vi)));
    }
    Hvp {
        loss: scalar(loss_primal),
        grad_dot_v: loss_tangent.map_or(0.0, scalar),
        grad: ParamVec::from_entries(grad),
        hv: ParamVec::from_entries(hv),
    }
}

/// The flattened gradient (a dual tensor: gradient and its tangent) of one parameter.
fn grad_of_param<B, M>(
    module: &M,
    id: &burn::module::ParamId,
    grads: &<HvpBackend<B> as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Option<Tensor<Dual<B>, 1>>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    struct Find<'a, B: Backend> {
        id: burn::module::ParamId,
        grads: &'a <HvpBackend<B> as burn::tensor::backend::AutodiffBackend>::Gradients,
        found: Option<Tensor<Dual<B>, 1>>,
    }
    impl<B: Backend> burn::module::ModuleVisitor<HvpBackend<B>> for Find<'_, B> {
        fn visit_float<const D: usize>(
            &mut self,
            param: &burn::module::Param<Tensor<HvpBackend<B>, D>>,
        ) {
            if param.id == self.id {
                self.found = param
                    .val()
                    .grad(self.grads)
                    .map(|g| g.flatten::<1>(0, D - 1));
            }
        }
    }
    let mut f = Find {
        id: *id,
        grads,
        found: None,
    };
    module.visit(&mut f);
    f.found
}

/// The gradient `∇f(w)` and loss of a module on `HvpBackend<B>` (no tangents: a plain
/// reverse-mode pass).
pub fn gradient<B, M>(
    module: &M,
    loss_fn: impl FnOnce(&M) -> Tensor<HvpBackend<B>, 1>,
) -> (f64, ParamVec<B>)
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    let loss = loss_fn(module);
    let value = scalar(Dual::<B>::primal(loss.clone().inner()));
    let mut grads = loss.backward();
    let template = ParamVec::<HvpBackend<B>>::from_module(module);
    let entries = template
        .entries()
        .iter()
        .map(|(id, w)| {
            let g = grad_flat(module, id, &mut grads)
                .unwrap_or_else(|| Dual::<B>::primal(w.clone().inner()).zeros_like());
            (*id, g)
        })
        .collect();
    (value, ParamVec::from_entries(entries))
}

fn grad_flat<B, M>(
    module: &M,
    id: &burn::module::ParamId,
    grads: &mut <HvpBackend<B> as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Option<Tensor<B, 1>>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    grad_of_param(module, id, grads).map(Dual::<B>::primal)
}

/// `f(w)`, `gᵀu` and `uᵀHu` by one forward pass of a second-order jet
/// ([`CurvatureMethod::Jet`]; see the module docs). `loss_fn` is the module's loss as for
/// [`gradient`]; it runs on a copy of the module whose parameters carry the jet `(w, u, 0)` and
/// require no gradient, so no tape is built.
///
/// Panics ("no second-order rule for …") if the loss goes through an op that has a first-order
/// rule only; use [`directional_curvature_with`] and forward-over-reverse there.
pub fn directional_curvature<B, M>(
    module: &M,
    loss_fn: impl FnOnce(&M) -> Tensor<HvpBackend<B>, 1>,
    u: &ParamVec<B>,
) -> DirectionalCurvature
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    directional_curvature_with(module, loss_fn, u, CurvatureMethod::Jet)
}

/// `f(w)`, `gᵀu` and `uᵀHu` by the given method.
pub fn directional_curvature_with<B, M>(
    module: &M,
    loss_fn: impl FnOnce(&M) -> Tensor<HvpBackend<B>, 1>,
    u: &ParamVec<B>,
    method: CurvatureMethod,
) -> DirectionalCurvature
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    match method {
        CurvatureMethod::Jet => {
            ensure_initialized(module);
            // Untracked leaves (no `require_grad`): the autodiff layer records nothing.
            let lifted = map_params_with::<HvpBackend<B>, B, M>(module.clone(), u, |w, ui| {
                Tensor::from_inner(Dual::with_jet(Dual::<B>::primal(w.inner()), ui, None))
            });
            let loss = loss_fn(&lifted);
            let (f, slope, curvature) = Dual::<B>::split_jet(loss.inner());
            DirectionalCurvature {
                loss: scalar(f),
                slope: slope.map_or(0.0, scalar),
                curvature: curvature.map_or(0.0, scalar),
            }
        }
        CurvatureMethod::ForwardOverReverse => {
            let out = hvp(module, loss_fn, u);
            DirectionalCurvature {
                loss: out.loss,
                slope: out.grad_dot_v,
                curvature: u.dot(&out.hv),
            }
        }
    }
}

/// Test oracle, not part of the API (the jet of [`directional_curvature`] supersedes it):
/// `f(w)`, `gᵀu` and `uᵀHu` by forward-over-forward: the module lives on `Dual<Dual<B>>`, both
/// tangent levels of its parameters are set to `u`, and one forward pass gives
/// `f(w + s u + r u)` to second order: its mixed coefficient is `uᵀHu` (no backward pass).
#[doc(hidden)]
pub fn directional_curvature_fof<B, M>(
    module: &M,
    loss_fn: impl FnOnce(&M) -> Tensor<Dual<Dual<B>>, 1>,
    u: &ParamVec<B>,
) -> DirectionalCurvature
where
    B: Backend,
    M: Module<Dual<Dual<B>>>,
{
    ensure_initialized(module);
    let lifted = map_params_with(
        module.clone(),
        u,
        |w: Tensor<Dual<Dual<B>>, 1>, ui: Tensor<B, 1>| {
            let w = Dual::<B>::primal(Dual::<Dual<B>>::primal(w));
            let inner_primal = Dual::with_tangent(w, ui.clone());
            let inner_tangent = Dual::constant(ui);
            Dual::with_tangent(inner_primal, inner_tangent)
        },
    );
    let loss = loss_fn(&lifted);
    let (outer_primal, outer_tangent) = Dual::<Dual<B>>::split(loss);
    let (f, slope) = Dual::<B>::split(outer_primal);
    let curvature = outer_tangent
        .and_then(|t| Dual::<B>::split(t).1)
        .map_or(0.0, scalar);
    DirectionalCurvature {
        loss: scalar(f),
        slope: slope.map_or(0.0, scalar),
        curvature,
    }
}

/// A finite-difference Hessian-vector product `(∇f(w + h v) − ∇f(w − h v)) / 2h`, for tests and
/// benchmarks only (it is an approximation: use [`hvp`]).
pub fn hvp_finite_difference<B, M>(
    module: &M,
    loss_fn: impl Fn(&M) -> Tensor<HvpBackend<B>, 1>,
    v: &ParamVec<B>,
    h: f64,
) -> ParamVec<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    ensure_initialized(module);
    let plus = apply_update(module.clone(), v, h);
    let minus = apply_update(module.clone(), v, -h);
    let (_, gp) = gradient(&plus, &loss_fn);
    let (_, gm) = gradient(&minus, &loss_fn);
    gp.sub(&gm).scale(0.5 / h)
}
