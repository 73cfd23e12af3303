//! Bitwise reproducibility on the CPU backend in f32 (issue 11, item 5): the same computation
//! gives the same bits whatever the addresses of its buffers and whether they are shared.
//!
//! The cause found: Burn-ndarray's `float_recip` on f32 runs the SIMD approximation `rcpps`
//! (max relative error measured 5.4e-5) on the aligned body of the buffer and an exact division
//! on the head and tail, so which entries are approximated depends on the buffer's address and
//! on whether it is updated in place. Autodiff's backward of `log` and `div` uses `recip`: the
//! gradient of a cross-entropy changed from one call to the next.

use burn::backend::NdArray;
use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::{gradient, hvp, HvpBackend};
use cdat_core::{Dual, ParamVec};

type F32 = NdArray<f32>;
type H = HvpBackend<F32>;

fn dev() -> <F32 as burn::tensor::backend::BackendTypes>::Device {
    Default::default()
}

/// Deterministic values in `[lo, hi)` (xorshift).
fn values(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn bits<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<u32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// Equal bits, else a short message: how many entries differ, and the first.
#[track_caller]
fn assert_same_bits(got: &[u32], want: &[u32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let differ: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    if let Some(&i) = differ.first() {
        panic!(
            "{what}: {} of {} entries differ; first at {i}: {:e} vs {:e}",
            differ.len(),
            got.len(),
            f32::from_bits(got[i]),
            f32::from_bits(want[i])
        );
    }
}

#[test]
fn reciprocal_is_correctly_rounded_on_the_hvp_backend() {
    let x = values(4099, 0.1, 10.0, 1);
    let exact: Vec<u32> = x.iter().map(|v| (1.0f32 / v).to_bits()).collect();
    // Shared and unique buffers, and a view that starts one element in (another alignment).
    let t = Tensor::<Dual<F32>, 1>::from_data(TensorData::new(x.clone(), [x.len()]), &dev());
    let keep = t.clone();
    assert_same_bits(&bits(t.recip()), &exact, "shared buffer");
    assert_same_bits(&bits(keep.recip()), &exact, "unique buffer (in place)");
    let mut padded = vec![1.0f32];
    padded.extend(&x);
    let p = Tensor::<Dual<F32>, 1>::from_data(TensorData::new(padded, [x.len() + 1]), &dev());
    assert_same_bits(
        &bits(p.slice(1..x.len() + 1).recip()),
        &exact,
        "offset view",
    );
}

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    w1: Param<Tensor<B, 2>>,
    w2: Param<Tensor<B, 2>>,
}

fn lift<const D: usize>(v: Vec<f32>, shape: [usize; D]) -> Tensor<H, D> {
    Tensor::from_inner(Dual::constant(Tensor::<F32, D>::from_data(
        TensorData::new(v, shape),
        &dev(),
    )))
}

#[test]
fn cross_entropy_gradient_and_hvp_are_bitwise_reproducible() {
    let (n, d, h, k) = (512, 64, 32, 10);
    let model = Mlp {
        w1: Param::from_tensor(lift(values(d * h, -0.2, 0.2, 2), [d, h])),
        w2: Param::from_tensor(lift(values(h * k, -0.3, 0.3, 3), [h, k])),
    };
    let x = lift(values(n * d, 0.0, 1.0, 4), [n, d]);
    let onehot: Vec<f32> = (0..n * k)
        .map(|i| if i % k == (i / k) % k { 1.0 } else { 0.0 })
        .collect();
    let y = lift(onehot, [n, k]);
    let loss = |m: &Mlp<H>| {
        let logits = relu(x.clone().matmul(m.w1.val())).matmul(m.w2.val());
        (log_softmax(logits, 1) * y.clone())
            .sum()
            .neg()
            .div_scalar(n as f64)
    };
    let flat = |v: &ParamVec<F32>| -> Vec<u32> {
        v.entries()
            .iter()
            .flat_map(|(_, t)| bits(t.clone()))
            .collect()
    };
    let (_, g0) = gradient(&model, loss);
    let reference = flat(&g0);
    let hv0 = flat(&hvp(&model, loss, &g0).hv);
    let mut noise = Vec::new();
    for trial in 0..6 {
        // Shift the allocator's state so that buffers land at other addresses.
        noise.push(vec![0u8; 24 + 8 * trial]);
        let (_, g) = gradient(&model, loss);
        assert_same_bits(&flat(&g), &reference, &format!("gradient, trial {trial}"));
        let hv = flat(&hvp(&model, loss, &g0).hv);
        assert_same_bits(&hv, &hv0, &format!("H·g, trial {trial}"));
    }
}
