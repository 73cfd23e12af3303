//! Drop-in: an ordinary Burn training loop with Adam, switched to CDAT over Adam's direction.
//!
//! Run with `cargo run -p cdat-core --release --example drop_in [steps]` (about a second).
//!
//! `train_adam` below is the original loop; `train_cdat` is the same loop after the switch. The
//! whole change is 7 lines (model, data and loss untouched), and the optimizer is still built
//! from Burn's own `AdamConfig`:
//!
//! ```text
//! // before:
//! use burn::optim::{AdamConfig, GradientsParams, Optimizer};
//!     type MyBackend = Autodiff<NdArray>;
//!     let mut optim = AdamConfig::new().init();
//!         let loss = loss(&model, &x, &y);
//!         let value: f32 = loss.clone().into_scalar().elem();
//!         let grads = GradientsParams::from_grads(loss.backward(), &model);
//!         model = optim.step(LR, model, grads);
//!         if step % 100 == 0 { println!("step {step:4}  loss {value:.4}"); }
//!
//! // after:
//! use cdat_core::tuners::{CdatConfig, RuleConfig, Tuner};
//!     type MyBackend = cdat_core::HvpBackend<NdArray>;
//!     let mut optim = CdatConfig::new().with_sigma(1.0).init(AdamConfig::new());
//!         let (next, report) = optim.step(model, &|m| loss(m, &x, &y));
//!         let report = report.expect("finite loss and curvature");
//!         model = next;
//!         if step % 100 == 0 { println!("step {step:4}  loss {:.4}  lr {:.4}", report.loss, report.lr); }
//! ```
//!
//! `HvpBackend<NdArray>` is `Autodiff<Dual<NdArray>>`: Burn's reverse mode over forward mode, so
//! the tuner gets the exact curvature `uᵀHu` along Adam's direction `u` (one extra forward pass
//! per step, carrying a second-order jet, no tape); without tangents it trains like
//! `Autodiff<NdArray>`.
//! Every step takes `η = σ·max(−gᵀu, 0)/|uᵀHu|` instead of the constant `LR`.
//!
//! σ = 1 here (the quadratically greedy value): on this small ReLU network in f32, with Adam's
//! direction, σ = 2 ("on edge", the paper's choice for full-batch training of larger networks,
//! where progressive sharpening pushes back) oscillates. On data the network can memorize, the
//! curvature vanishes with the loss and `η` grows without bound: set `max_lr` then.

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use cdat_core::tuners::{CdatConfig, RuleConfig, Tuner};

/// The constant learning rate of the original loop.
const LR: f64 = 1e-2;

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(2, 32).init(device),
            l2: LinearConfig::new(32, 32).init(device),
            l3: LinearConfig::new(32, 2).init(device),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.l3
            .forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

/// Two interleaved half moons, 256 points, with enough deterministic jitter that the classes
/// overlap (the network cannot drive the loss to 0).
fn data<B: Backend>(device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let n = 256;
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut jitter = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f32 / (1u64 << 53) as f32 - 0.5) * 0.8
    };
    let (mut xs, mut ys) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for i in 0..n {
        let class = i % 2;
        let t = std::f32::consts::PI * (i / 2) as f32 / (n / 2) as f32;
        let (x, y) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        xs.push(x + jitter());
        xs.push(y + jitter());
        ys.push(class as i64);
    }
    let x = Tensor::<B, 1>::from_data(TensorData::from(xs.as_slice()), device).reshape([n, 2]);
    let y = Tensor::<B, 1, Int>::from_data(TensorData::from(ys.as_slice()), device);
    (x, y)
}

fn loss<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, y: &Tensor<B, 1, Int>) -> Tensor<B, 1> {
    CrossEntropyLossConfig::new()
        .init(&x.device())
        .forward(model.forward(x.clone()), y.clone())
}

fn accuracy<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, y: &Tensor<B, 1, Int>) -> f32 {
    let predicted = model.forward(x.clone()).argmax(1).squeeze_dim::<1>(1);
    let correct: i64 = predicted.equal(y.clone()).int().sum().into_scalar().elem();
    correct as f32 / y.dims()[0] as f32
}

/// The original loop: Adam with a constant learning rate.
fn train_adam(steps: usize) -> (f32, f32) {
    type MyBackend = Autodiff<NdArray>;
    let device = Default::default();
    MyBackend::seed(&device, 0);
    let mut model = Mlp::<MyBackend>::new(&device);
    let (x, y) = data::<MyBackend>(&device);
    let mut optim = AdamConfig::new().init();
    for step in 0..steps {
        let loss = loss(&model, &x, &y);
        let value: f32 = loss.clone().into_scalar().elem();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(LR, model, grads);
        if step % 100 == 0 {
            println!("step {step:4}  loss {value:.4}");
        }
    }
    (
        loss(&model, &x, &y).into_scalar().elem(),
        accuracy(&model, &x, &y),
    )
}

/// The same loop switched to CDAT over Adam's direction.
fn train_cdat(steps: usize) -> (f32, f32) {
    type MyBackend = cdat_core::HvpBackend<NdArray>;
    let device = Default::default();
    MyBackend::seed(&device, 0);
    let mut model = Mlp::<MyBackend>::new(&device);
    let (x, y) = data::<MyBackend>(&device);
    let mut optim = CdatConfig::new().with_sigma(1.0).init(AdamConfig::new());
    for step in 0..steps {
        let (next, report) = optim.step(model, &|m| loss(m, &x, &y));
        let report = report.expect("finite loss and curvature");
        model = next;
        if step % 100 == 0 {
            println!(
                "step {step:4}  loss {:.4}  lr {:.4}",
                report.loss, report.lr
            );
        }
    }
    (
        loss(&model, &x, &y).into_scalar().elem(),
        accuracy(&model, &x, &y),
    )
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!("Adam, constant learning rate {LR}:");
    let (adam_loss, adam_acc) = train_adam(steps);
    println!("Adam direction, CDAT learning rate:");
    let (cdat_loss, cdat_acc) = train_cdat(steps);
    println!("after {steps} steps: Adam loss {adam_loss:.4} (accuracy {adam_acc:.3}), CDAT loss {cdat_loss:.4} (accuracy {cdat_acc:.3})");
    assert!(
        cdat_loss.is_finite() && cdat_loss < 0.5,
        "CDAT did not train"
    );
}
