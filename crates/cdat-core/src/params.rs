//! Vectors in parameter space: one flattened tensor per parameter, keyed by Burn's [`ParamId`]
//! (like `GradientsParams`), in the module's visiting order. Gradients, update directions,
//! tangents and eigenvectors are all `ParamVec`s; the model itself is never flattened into one
//! big copy.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, ElementConversion, Tensor};

/// One flattened tensor per float parameter of a module, in the module's visiting order.
#[derive(Clone, Debug)]
pub struct ParamVec<B: Backend> {
    entries: Vec<(ParamId, Tensor<B, 1>)>,
}

impl<B: Backend> ParamVec<B> {
    /// A vector from `(id, flattened tensor)` pairs.
    pub fn from_entries(entries: Vec<(ParamId, Tensor<B, 1>)>) -> Self {
        Self { entries }
    }

    /// The module's own parameter values.
    pub fn from_module<M: Module<B>>(module: &M) -> Self {
        struct Collect<B: Backend>(Vec<(ParamId, Tensor<B, 1>)>);
        impl<B: Backend> ModuleVisitor<B> for Collect<B> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
                self.0.push((param.id, param.val().flatten::<1>(0, D - 1)));
            }
        }
        let mut c = Collect(Vec::new());
        module.visit(&mut c);
        Self { entries: c.0 }
    }

    /// The parameter values of an autodiff module, on its inner backend.
    pub fn from_autodiff_module<AB, M>(module: &M) -> Self
    where
        AB: AutodiffBackend<InnerBackend = B>,
        M: AutodiffModule<AB>,
    {
        ParamVec::<AB>::from_module(module).map(|t| t.inner())
    }

    /// Zeros shaped like the module's parameters.
    pub fn zeros_like<M: Module<B>>(module: &M) -> Self {
        Self::from_module(module).map(|t| t.zeros_like())
    }

    /// Independent standard normal entries shaped like this vector (Burn's RNG for `B`; seed it
    /// with `B::seed` for reproducibility).
    pub fn random_normal_like(&self) -> Self {
        self.map(|t| Tensor::random(t.shape(), Distribution::Normal(0.0, 1.0), &t.device()))
    }

    /// Applies `f` to each parameter's tensor.
    pub fn map<C: Backend>(&self, f: impl Fn(Tensor<B, 1>) -> Tensor<C, 1>) -> ParamVec<C> {
        ParamVec {
            entries: self
                .entries
                .iter()
                .map(|(id, t)| (*id, f(t.clone())))
                .collect(),
        }
    }

    /// Combines two vectors entry by entry; panics if their parameter ids differ.
    pub fn zip_map(
        &self,
        other: &Self,
        f: impl Fn(Tensor<B, 1>, Tensor<B, 1>) -> Tensor<B, 1>,
    ) -> Self {
        assert_eq!(
            self.entries.len(),
            other.entries.len(),
            "ParamVec: different parameter sets"
        );
        ParamVec {
            entries: self
                .entries
                .iter()
                .zip(&other.entries)
                .map(|((ia, a), (ib, b))| {
                    assert_eq!(ia, ib, "ParamVec: parameter ids differ");
                    (*ia, f(a.clone(), b.clone()))
                })
                .collect(),
        }
    }

    /// The entries, in the module's visiting order.
    pub fn entries(&self) -> &[(ParamId, Tensor<B, 1>)] {
        &self.entries
    }

    /// The flattened tensor of one parameter.
    pub fn get(&self, id: &ParamId) -> Option<&Tensor<B, 1>> {
        self.entries.iter().find(|(i, _)| i == id).map(|(_, t)| t)
    }

    /// Total number of scalar entries.
    pub fn num_elements(&self) -> usize {
        self.entries.iter().map(|(_, t)| t.dims()[0]).sum()
    }

    /// `self + other`.
    pub fn add(&self, other: &Self) -> Self {
        self.zip_map(other, |a, b| a + b)
    }

    /// `self - other`.
    pub fn sub(&self, other: &Self) -> Self {
        self.zip_map(other, |a, b| a - b)
    }

    /// `self + alpha * other`.
    pub fn axpy(&self, alpha: f64, other: &Self) -> Self {
        self.zip_map(other, |a, b| a + b.mul_scalar(alpha))
    }

    /// `alpha * self`.
    pub fn scale(&self, alpha: f64) -> Self {
        self.map(|t| t.mul_scalar(alpha))
    }

    /// Entrywise product.
    pub fn mul(&self, other: &Self) -> Self {
        self.zip_map(other, |a, b| a * b)
    }

    /// Entrywise quotient.
    pub fn div(&self, other: &Self) -> Self {
        self.zip_map(other, |a, b| a / b)
    }

    /// `<self, other>`, accumulated on the device then read once.
    pub fn dot(&self, other: &Self) -> f64 {
        self.reduce(other, |a, b| (a * b).sum())
    }

    /// Squared Euclidean norm.
    pub fn norm_sq(&self) -> f64 {
        self.dot(self)
    }

    /// Euclidean norm.
    pub fn norm(&self) -> f64 {
        self.norm_sq().sqrt()
    }

    /// Whether every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.entries.iter().all(|(_, t)| {
            !t.clone().is_nan().any().into_scalar().elem::<bool>()
                && !t.clone().is_inf().any().into_scalar().elem::<bool>()
        })
    }

    fn reduce(&self, other: &Self, f: impl Fn(Tensor<B, 1>, Tensor<B, 1>) -> Tensor<B, 1>) -> f64 {
        assert_eq!(
            self.entries.len(),
            other.entries.len(),
            "ParamVec: different parameter sets"
        );
        let mut acc: Option<Tensor<B, 1>> = None;
        for ((ia, a), (ib, b)) in self.entries.iter().zip(&other.entries) {
            assert_eq!(ia, ib, "ParamVec: parameter ids differ");
            let s = f(a.clone(), b.clone());
            acc = Some(match acc {
                None => s,
                Some(acc) => acc + s,
            });
        }
        acc.map_or(0.0, |t| t.into_scalar().elem::<f64>())
    }
}

/// A `ParamVec` in a Burn record: `(ParamId, flattened tensor)` pairs in order.
impl<B: Backend> Record<B> for ParamVec<B> {
    type Item<S: PrecisionSettings> = <Vec<(String, Tensor<B, 1>)> as Record<B>>::Item<S>;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        let entries: Vec<(String, Tensor<B, 1>)> = self
            .entries
            .into_iter()
            .map(|(id, t)| (id.serialize(), t))
            .collect();
        entries.into_item()
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, device: &B::Device) -> Self {
        let entries = <Vec<(String, Tensor<B, 1>)> as Record<B>>::from_item(item, device);
        Self::from_entries(
            entries
                .into_iter()
                .map(|(id, t)| (ParamId::deserialize(&id), t))
                .collect(),
        )
    }
}

impl<B: Backend> ParamVec<B> {
    /// This vector on the device of `like`'s first entry (a restored vector lives on the
    /// device it was loaded on).
    pub fn on_device_of(self, like: &ParamVec<B>) -> ParamVec<B> {
        match like.entries().first() {
            Some((_, t)) => {
                let device = t.device();
                self.map(|x| x.to_device(&device))
            }
            None => self,
        }
    }
}

/// Initialises every lazily initialised parameter of `module` in place. Burn creates parameters
/// on first use, and a clone of a never-used module would draw its own random values: call this
/// before cloning a module whose clones must share its parameters.
pub fn ensure_initialized<B: Backend, M: Module<B>>(module: &M) {
    struct Touch;
    impl<B: Backend> ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}

/// Maps each float parameter `p` of a module to `f(p, v[id])` (both flattened; the result is
/// reshaped back). Parameters absent from `v` are left as they are.
pub(crate) fn map_params_with<B, V, M>(
    module: M,
    v: &ParamVec<V>,
    f: impl FnMut(Tensor<B, 1>, Tensor<V, 1>) -> Tensor<B, 1>,
) -> M
where
    B: Backend,
    V: Backend,
    M: Module<B>,
{
    struct Mapper<'a, V: Backend, F> {
        v: &'a ParamVec<V>,
        f: F,
    }
    impl<B: Backend, V: Backend, F> ModuleMapper<B> for Mapper<'_, V, F>
    where
        F: FnMut(Tensor<B, 1>, Tensor<V, 1>) -> Tensor<B, 1>,
    {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            let tensor = match self.v.get(&id) {
                Some(vi) => {
                    let shape = tensor.shape();
                    (self.f)(tensor.flatten::<1>(0, D - 1), vi.clone()).reshape(shape)
                }
                None => tensor,
            };
            Param::from_mapped_value(id, tensor, mapper)
        }
    }
    module.map(&mut Mapper { v, f })
}

/// Like [`map_params_with`] for an autodiff module: `f` maps the parameter's inner (untracked)
/// value, and the result becomes a fresh gradient-requiring leaf.
pub(crate) fn map_autodiff_params_with<AB, V, M>(
    module: M,
    v: &ParamVec<V>,
    f: impl FnMut(Tensor<AB::InnerBackend, 1>, Tensor<V, 1>) -> Tensor<AB::InnerBackend, 1>,
) -> M
where
    AB: AutodiffBackend,
    V: Backend,
    M: AutodiffModule<AB>,
{
    struct Mapper<'a, V: Backend, F> {
        v: &'a ParamVec<V>,
        f: F,
    }
    impl<AB: AutodiffBackend, V: Backend, F> ModuleMapper<AB> for Mapper<'_, V, F>
    where
        F: FnMut(Tensor<AB::InnerBackend, 1>, Tensor<V, 1>) -> Tensor<AB::InnerBackend, 1>,
    {
        fn map_float<const D: usize>(
            &mut self,
            param: Param<Tensor<AB, D>>,
        ) -> Param<Tensor<AB, D>> {
            let (id, tensor, mapper) = param.consume();
            let tensor = match self.v.get(&id) {
                Some(vi) => {
                    let inner = tensor.inner();
                    let shape = inner.shape();
                    let mapped = (self.f)(inner.flatten::<1>(0, D - 1), vi.clone()).reshape(shape);
                    Tensor::from_inner(mapped).require_grad()
                }
                None => tensor,
            };
            Param::from_mapped_value(id, tensor, mapper)
        }
    }
    module.map(&mut Mapper { v, f })
}

/// `w + eta * u` for every parameter of an autodiff module; the result requires gradients
/// again, like the parameters of a freshly built module.
pub fn apply_step<AB, M>(module: M, u: &ParamVec<AB::InnerBackend>, eta: f64) -> M
where
    AB: AutodiffBackend,
    M: AutodiffModule<AB>,
{
    map_autodiff_params_with::<AB, _, M>(module, u, |w, ui| w + ui.mul_scalar(eta))
}

/// `w + eta * u` for every parameter of a plain (non-autodiff) module.
pub fn apply_step_plain<B: Backend, M: Module<B>>(module: M, u: &ParamVec<B>, eta: f64) -> M {
    map_params_with(module, u, |w: Tensor<B, 1>, ui| w + ui.mul_scalar(eta))
}
