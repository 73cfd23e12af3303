//! The cost of data parallelism for CDAT on CPU (NdArray, f32): one CDAT step over Adam on the
//! whole batch, against the same step taken by N = 2 peers (threads of one process,
//! burn-collective's local mode), each on half the batch with its gradient, `uᵀHu` and loss
//! all-reduced. On one machine both configurations share the same cores, so the ratio shows
//! the overhead of splitting and reducing, not a speed-up. Prints `ratio <name> <value>`:
//!
//! - `two_peers_step_over_one_device_step.mlp`: the wall time of a lockstep step of both
//!   peers over the single-device step;
//! - `allreduce_over_one_device_step.mlp`: one all-reduce (mean) of a gradient-sized vector
//!   across the two peers, over the single-device step.
//!
//! Medians over `CDAT_BENCH_REPS` (default 7) steps, after one warm-up step, from this one run;
//! the phases run one after the other (not interleaved). Run with
//! `cargo bench -p cdat-core --bench data_parallel`.

mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use burn::collective::reset_collective;
use burn::module::AutodiffModule;
use burn::optim::AdamConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::parameters;
use cdat_core::params::ensure_initialized;
use cdat_core::tuners::{AllReduce, CdatConfig, Collective, RuleConfig, Tuner};
use common::steps::{H, NB};
use common::{cross_entropy, Mlp, Net};

const BATCH: usize = 1024;

fn median(mut t: Vec<Duration>) -> Duration {
    t.sort();
    t[t.len() / 2]
}

/// `reps` timed CDAT steps (after a warm-up step) of `model` on `(x, y)`, each started after
/// `sync` (the peers' lockstep), over `peers` when given.
fn steps<M: AutodiffModule<H> + Net<H>>(
    model: M,
    x: Tensor<H, 4>,
    y: Tensor<H, 1, Int>,
    peers: Option<Collective<NB>>,
    reps: usize,
    sync: &dyn Fn(),
) -> Duration {
    let tuner = CdatConfig::new().init::<NB, _>(AdamConfig::new());
    let mut tuner = match peers {
        Some(p) => tuner.with_all_reduce(p),
        None => tuner,
    };
    let loss = |m: &M| cross_entropy(m.logits(x.clone()), y.clone());
    let mut model = Some(model);
    let mut times = Vec::with_capacity(reps);
    for k in 0..=reps {
        sync();
        let start = Instant::now();
        let (m, r) = tuner.step(model.take().unwrap(), &loss);
        r.expect("finite step");
        model = Some(std::hint::black_box(m));
        if k > 0 {
            times.push(start.elapsed());
        }
    }
    median(times)
}

fn main() {
    let dev = Default::default();
    let reps = common::reps(7);
    NB::seed(&dev, 0);
    let model = Mlp::<H>::new(&dev);
    ensure_initialized(&model);
    let x = Tensor::<H, 4>::random([BATCH, 1, 28, 28], Distribution::Normal(0.0, 1.0), &dev);
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| (i * 7) % 10).collect();
    let y = Tensor::<H, 1, Int>::from_data(TensorData::from(labels.as_slice()), &dev);

    let one = steps(model.clone(), x.clone(), y.clone(), None, reps, &|| ());

    reset_collective::<NB>();
    let barrier = Barrier::new(2);
    let half = BATCH / 2;
    let two: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u32)
            .map(|p| {
                let (model, barrier) = (model.clone(), &barrier);
                let x = x.clone().narrow(0, p as usize * half, half);
                let y = y.clone().narrow(0, p as usize * half, half);
                s.spawn(move || {
                    let peers = Collective::<NB>::register(p, 2, Default::default()).unwrap();
                    steps(model, x, y, Some(peers), reps, &|| {
                        barrier.wait();
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let two = two.into_iter().max().unwrap();

    reset_collective::<NB>();
    let grad = parameters(&model);
    let reduce: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u32)
            .map(|p| {
                let (grad, barrier) = (grad.clone(), &barrier);
                s.spawn(move || {
                    let peers = Collective::<NB>::register(p, 2, Default::default()).unwrap();
                    let mut times = Vec::with_capacity(reps);
                    for k in 0..=reps {
                        barrier.wait();
                        let start = Instant::now();
                        let mean = peers.mean(grad.clone());
                        std::hint::black_box(mean.norm());
                        if k > 0 {
                            times.push(start.elapsed());
                        }
                    }
                    median(times)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let reduce = reduce.into_iter().max().unwrap();

    println!(
        "mlp 784-512-512-10, batch {BATCH}: one device {one:?}, two peers (half batch each) {two:?}, all-reduce of the gradient {reduce:?}"
    );
    println!(
        "ratio two_peers_step_over_one_device_step.mlp {:.3}",
        two.as_secs_f64() / one.as_secs_f64()
    );
    println!(
        "ratio allreduce_over_one_device_step.mlp {:.3}",
        reduce.as_secs_f64() / one.as_secs_f64()
    );
}
