//! Data-parallel equivalence: two peers (threads, one NdArray device each, burn-collective's
//! local mode), each with half of every batch, take the same steps — losses, learning rates,
//! parameters — as one device on the whole batch, for the constant, CDAT and linesearch tuners
//! over gradient descent and Adam, full batch and mini batch; and the sharpness rule's Lanczos
//! (HVPs all-reduced, random start shared between the peers) on GD. Computed in f64; agreement to 1e-9 relative
//! (the acceptance asks for f32 tolerance).

use std::sync::Mutex;

use burn::collective::reset_collective;
use burn::optim::AdamConfig;
use burn::tensor::Tensor;
use cdat_core::tuners::{
    BaseOptimizerConfig, CdatConfig, Collective, ConstantConfig, GradientDescentConfig,
    LinesearchConfig, RuleConfig, SharpnessConfig, StepReport, Tuner,
};

mod common {
    pub mod vector;
}
use common::vector::{consts, values, vector, Vector, F, H};

/// The collective server is one per process and backend: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const ROWS: usize = 8;
const COLS: usize = 3;

/// Deterministic rows `xᵢ` and targets `yᵢ`.
fn data() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..ROWS * COLS)
        .map(|i| ((i * 7 + 3) % 11) as f64 / 5.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..ROWS)
        .map(|i| ((i * 5 + 1) % 7) as f64 / 3.0 - 1.0)
        .collect();
    (x, y)
}

/// The loss on rows `rows`: the mean over them of `log(1 + (xᵢᵀw − yᵢ)²)` (not quadratic, so
/// the rules' curvature and probes matter).
fn loss_on(rows: Vec<usize>) -> impl Fn(&Vector<H>) -> Tensor<H, 1> + Send {
    let (x, y) = data();
    let xs: Vec<f64> = rows
        .iter()
        .flat_map(|&r| x[r * COLS..(r + 1) * COLS].to_vec())
        .collect();
    let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
    let n = rows.len();
    move |m: &Vector<H>| {
        let x = consts(&xs).reshape([n, COLS]);
        let r = x.matmul(m.w.val().reshape([COLS, 1])).reshape([n]) - consts(&ys);
        (r.clone() * r).add_scalar(1.0).log().mean()
    }
}

/// The batches of a run: all rows (full batch), or rows 0-3 then 4-7 alternately.
fn batches(mini: bool, step: usize) -> Vec<usize> {
    if mini {
        (0..ROWS / 2).map(|r| r + (step % 2) * ROWS / 2).collect()
    } else {
        (0..ROWS).collect()
    }
}

/// Peer `peer`'s half of a batch (even or odd positions).
fn shard(batch: &[usize], peer: usize) -> Vec<usize> {
    batch.iter().copied().skip(peer).step_by(2).collect()
}

const STEPS: usize = 8;
const W0: [f64; COLS] = [0.5, -0.3, 0.8];

type Outcome = (Vec<StepReport>, Vec<f64>);

fn run(tuner: &mut dyn Tuner<F, Vector<H>>, mini: bool, peer: Option<usize>) -> Outcome {
    let mut m = vector(&W0);
    let mut reports = Vec::new();
    for step in 0..STEPS {
        let batch = batches(mini, step);
        let rows = peer.map_or(batch.clone(), |p| shard(&batch, p));
        let (next, report) = tuner.step(m, &loss_on(rows));
        reports.push(report.expect("step accepted"));
        m = next;
    }
    (reports, values(&m))
}

/// One device on the whole batch, and two peers on halves; returns both peers' outcomes too.
fn compare<C, O>(config: C, base: O, mini: bool)
where
    C: RuleConfig + Send + Sync,
    O: BaseOptimizerConfig<F> + Clone + Send + Sync,
    O::Base: 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let what = format!("{} over {}", C::NAME, std::any::type_name::<O>());
    let single = run(&mut config.init::<F, _>(base.clone()), mini, None);
    reset_collective::<F>();
    let peers: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|p| {
                let (config, base) = (&config, &base);
                s.spawn(move || {
                    let collective = Collective::<F>::register(p as u32, 2, Default::default())
                        .expect("registering a peer");
                    let mut tuner = config
                        .init::<F, _>(base.clone())
                        .with_all_reduce(collective);
                    run(&mut tuner, mini, Some(p))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(peers[0], peers[1], "{what}: the peers differ");
    // f64 rounding of a mean of shard means vs a full mean (~1e-16), amplified along the run
    // by the rules' ratios (CDAT at σ = 2 takes η ≈ 70 here): well inside f32 tolerance.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    for (k, (one, two)) in single.0.iter().zip(&peers[0].0).enumerate() {
        for (name, a, b) in [
            ("loss", one.loss, two.loss),
            ("lr", one.lr, two.lr),
            ("slope", one.slope, two.slope),
            (
                "curvature",
                one.curvature.unwrap_or(0.0),
                two.curvature.unwrap_or(0.0),
            ),
            (
                "sharpness",
                one.sharpness.unwrap_or(0.0),
                two.sharpness.unwrap_or(0.0),
            ),
        ] {
            assert!(
                close(a, b),
                "{what}, mini={mini}, step {k}: {name} {a} vs {b}"
            );
        }
    }
    for (a, b) in single.1.iter().zip(&peers[0].1) {
        assert!(close(*a, *b), "{what}, mini={mini}: parameters {a} vs {b}");
    }
}

#[test]
fn two_peers_on_half_batches_step_like_one_device_on_the_batch() {
    for mini in [false, true] {
        compare(
            ConstantConfig::new().with_lr(0.3),
            GradientDescentConfig::new(),
            mini,
        );
        compare(ConstantConfig::new().with_lr(0.05), AdamConfig::new(), mini);
        compare(CdatConfig::new(), GradientDescentConfig::new(), mini);
        compare(CdatConfig::new().with_beta(0.5), AdamConfig::new(), mini);
        compare(LinesearchConfig::new(), GradientDescentConfig::new(), mini);
        compare(LinesearchConfig::new(), AdamConfig::new(), mini);
    }
    // Lanczos stops when consecutive estimates agree to `rel_tol`, so its value depends on the
    // start (the single device draws one random start, the peers average two): run it to the
    // whole 3-dimensional Krylov space, where λmax is exact whatever the start.
    compare(
        SharpnessConfig::new()
            .with_max_iters(COLS)
            .with_rel_tol(1e-15),
        GradientDescentConfig::new(),
        false,
    );
}

#[test]
fn a_peer_id_out_of_range_is_an_error() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(Collective::<F>::register(2, 2, Default::default()).is_err());
    assert!(Collective::<F>::register(0, 0, Default::default()).is_err());
}
