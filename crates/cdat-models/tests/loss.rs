//! Loss functions against hand-computed closed forms.

mod common;

use burn::tensor::{Int, Tensor, TensorData};
use cdat_models::loss::one_hot;
use cdat_models::{
    accuracy, cross_entropy, mse_one_hot, sequence_accuracy, sequence_cross_entropy,
};
use common::{scalar, B};

fn logsumexp(row: &[f64]) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

const LOGITS: [[f64; 3]; 2] = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.25]];
const TARGETS: [i64; 2] = [2, 1];

fn inputs() -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let dev = Default::default();
    let flat: Vec<f32> = LOGITS.iter().flatten().map(|&x| x as f32).collect();
    (
        Tensor::from_data(TensorData::new(flat, [2, 3]), &dev),
        Tensor::from_data(TensorData::new(TARGETS.to_vec(), [2]), &dev),
    )
}

#[test]
fn cross_entropy_matches_closed_form() {
    let (logits, targets) = inputs();
    let expected: f64 = LOGITS
        .iter()
        .zip(TARGETS)
        .map(|(row, t)| logsumexp(row) - row[t as usize])
        .sum::<f64>()
        / 2.0;
    let got = cross_entropy(logits, targets);
    assert_eq!(got.dims(), [1]);
    let got = scalar(got) as f64;
    assert!(
        (got - expected).abs() < 1e-6,
        "got {got}, expected {expected}"
    );
}

#[test]
fn cross_entropy_of_uniform_logits_is_log_num_classes() {
    let dev = Default::default();
    let logits = Tensor::<B, 2>::zeros([4, 10], &dev);
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![0i64, 3, 7, 9], [4]), &dev);
    let got = scalar(cross_entropy(logits, targets)) as f64;
    assert!((got - 10f64.ln()).abs() < 1e-6, "got {got}");
}

#[test]
fn sequence_cross_entropy_averages_all_positions() {
    let dev = Default::default();
    // [N=1, T=2, V=3] with the same rows as LOGITS.
    let flat: Vec<f32> = LOGITS.iter().flatten().map(|&x| x as f32).collect();
    let logits = Tensor::<B, 3>::from_data(TensorData::new(flat, [1, 2, 3]), &dev);
    let targets = Tensor::<B, 2, Int>::from_data(TensorData::new(TARGETS.to_vec(), [1, 2]), &dev);
    let (l2, t2) = inputs();
    let seq = scalar(sequence_cross_entropy(logits.clone(), targets.clone()));
    let flat = scalar(cross_entropy(l2, t2));
    assert!((seq - flat).abs() < 1e-7);
    assert_eq!(sequence_accuracy(logits, targets), 0.5);
}

#[test]
fn mse_one_hot_matches_closed_form() {
    let (logits, targets) = inputs();
    let mut expected = 0.0;
    for (row, t) in LOGITS.iter().zip(TARGETS) {
        for (c, z) in row.iter().enumerate() {
            let y = if c as i64 == t { 1.0 } else { 0.0 };
            expected += 0.5 * (z - y) * (z - y);
        }
    }
    expected /= 2.0;
    let got = scalar(mse_one_hot(logits, targets, 3)) as f64;
    assert!(
        (got - expected).abs() < 1e-6,
        "got {got}, expected {expected}"
    );
}

#[test]
fn one_hot_encodes_targets() {
    let (_, targets) = inputs();
    let oh: Vec<f32> = one_hot(targets, 3).into_data().to_vec().unwrap();
    assert_eq!(oh, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn accuracy_counts_argmax_hits() {
    let (logits, targets) = inputs();
    // Row 0: argmax 2 == target 2 (hit); row 1: argmax 0 != target 1 (miss).
    assert_eq!(accuracy(logits, targets), 0.5);
}

#[test]
fn cross_entropy_gradient_is_softmax_minus_one_hot() {
    use burn::tensor::activation::softmax;
    type AD = common::AD;
    let dev = Default::default();
    let flat: Vec<f32> = LOGITS.iter().flatten().map(|&x| x as f32).collect();
    let logits = Tensor::<AD, 2>::from_data(TensorData::new(flat, [2, 3]), &dev).require_grad();
    let targets = Tensor::<AD, 1, Int>::from_data(TensorData::new(TARGETS.to_vec(), [2]), &dev);
    let grads = cross_entropy(logits.clone(), targets.clone()).backward();
    let g: Vec<f32> = logits.grad(&grads).unwrap().into_data().to_vec().unwrap();
    let expected: Vec<f32> = ((softmax(logits.inner(), 1) - one_hot(targets.inner(), 3)) / 2.0)
        .into_data()
        .to_vec()
        .unwrap();
    for (a, b) in g.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-6, "{g:?} vs {expected:?}");
    }
}
