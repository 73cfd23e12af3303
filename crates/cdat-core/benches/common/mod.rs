//! What the benches share: the benchmark models, the loss, copying parameters between
//! backends, interleaved median timing and a peak-memory counter.
#![allow(dead_code)]

pub mod steps;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// A model mapping an image batch to logits.
pub trait Net<B: Backend>: Module<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2>;
}

/// MLP 784-512-512-10 with ReLU.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    pub fn new(device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(784, 512).init(device),
            l2: LinearConfig::new(512, 512).init(device),
            l3: LinearConfig::new(512, 10).init(device),
        }
    }
}

impl<B: Backend> Net<B> for Mlp<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = x.flatten::<2>(1, 3);
        self.l3
            .forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

/// Two 3×3 convolutions (16, 32 channels) with ReLU and 2×2 max-pooling, then a linear head.
#[derive(Module, Debug)]
pub struct ConvNet<B: Backend> {
    c1: Conv2d<B>,
    c2: Conv2d<B>,
    pool: MaxPool2d,
    head: Linear<B>,
}

impl<B: Backend> ConvNet<B> {
    pub fn new(device: &B::Device) -> Self {
        Self {
            c1: Conv2dConfig::new([3, 16], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            c2: Conv2dConfig::new([16, 32], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            head: LinearConfig::new(32 * 8 * 8, 10).init(device),
        }
    }
}

impl<B: Backend> Net<B> for ConvNet<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.pool.forward(relu(self.c1.forward(x)));
        let x = self.pool.forward(relu(self.c2.forward(x)));
        self.head.forward(x.flatten::<2>(1, 3))
    }
}

/// Mean cross-entropy of logits against integer labels.
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, y: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let n = logits.dims()[0] as f64;
    log_softmax(logits, 1)
        .gather(1, y.unsqueeze_dim(1))
        .sum()
        .neg()
        .div_scalar(n)
}

/// Repetitions from `CDAT_BENCH_REPS`, else `default`.
pub fn reps(default: usize) -> usize {
    std::env::var("CDAT_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Median time of each stepper, measured round robin (one call of each per round, after a
/// warm-up call of each) so that a change in machine load affects all of them alike.
pub fn interleaved_medians(reps: usize, steppers: &mut [Box<dyn FnMut() + '_>]) -> Vec<Duration> {
    for f in steppers.iter_mut() {
        f(); // warm-up (and the optimizers' first step, which allocates their state)
    }
    let mut times = vec![Vec::with_capacity(reps); steppers.len()];
    for _ in 0..reps {
        for (f, t) in steppers.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[reps / 2]
        })
        .collect()
}

/// Copies values (by visiting order) into a module of another backend, keeping the source's
/// parameter ids.
pub fn copy_into<Src: Backend, Dst: Backend, M: Module<Dst>>(
    values: &cdat_core::ParamVec<Src>,
    module: M,
) -> M {
    struct Load<'a, S: Backend>(&'a cdat_core::ParamVec<S>, usize);
    impl<S: Backend, D: Backend> burn::module::ModuleMapper<D> for Load<'_, S> {
        fn map_float<const R: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D, R>>,
        ) -> burn::module::Param<Tensor<D, R>> {
            let (_, t, mapper) = p.consume();
            let (id, src) = &self.0.entries()[self.1];
            self.1 += 1;
            let new = Tensor::<D, 1>::from_data(src.to_data(), &t.device()).reshape(t.shape());
            let new = if t.is_require_grad() {
                new.require_grad()
            } else {
                new
            };
            burn::module::Param::from_mapped_value(*id, new, mapper)
        }
    }
    module.map(&mut Load(values, 0))
}

/// The system allocator, counting live bytes and their peak (install with
/// `#[global_allocator] static ALLOC: PeakAlloc = PeakAlloc::new();`).
pub struct PeakAlloc {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl PeakAlloc {
    pub const fn new() -> Self {
        Self {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// The peak of live bytes above the live bytes at the start, while `f` runs.
    pub fn peak_during(&self, f: impl FnOnce()) -> usize {
        let base = self.live.load(Ordering::SeqCst);
        self.peak.store(base, Ordering::SeqCst);
        f();
        self.peak.load(Ordering::SeqCst).saturating_sub(base)
    }
}

impl Default for PeakAlloc {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = self.live.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            self.peak.fetch_max(live, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}
