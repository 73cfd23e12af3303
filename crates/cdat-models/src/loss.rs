//! Losses and metrics, written with ops that have forward-mode (JVP) rules
//! (`log_softmax`, `gather`, elementwise math, reductions).

use burn::tensor::{activation::log_softmax, backend::Backend, ElementConversion, Int, Tensor};

/// Mean cross-entropy of logits `[N, C]` against integer class targets `[N]`:
/// `-(1/N) * sum_n log_softmax(logits)[n, targets[n]]`. Returns a 1-element tensor.
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    assert_eq!(
        targets.dims()[0],
        n,
        "cross_entropy: {n} logit rows but {} targets",
        targets.dims()[0]
    );
    let log_probs = log_softmax(logits, 1);
    let picked = log_probs.gather(1, targets.reshape([n, 1]));
    picked.mean().neg()
}

/// Mean next-token cross-entropy of sequence logits `[N, T, V]` against targets `[N, T]`,
/// averaged over all `N * T` positions. Returns a 1-element tensor.
pub fn sequence_cross_entropy<B: Backend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    let [n, t, v] = logits.dims();
    cross_entropy(logits.reshape([n * t, v]), targets.reshape([n * t]))
}

/// One-hot encoding `[N, C]` (float, 0/1) of integer targets `[N]`, built from integer
/// comparisons (no scatter).
pub fn one_hot<B: Backend>(targets: Tensor<B, 1, Int>, num_classes: usize) -> Tensor<B, 2> {
    let [n] = targets.dims();
    let classes = Tensor::<B, 1, Int>::arange(0..num_classes as i64, &targets.device())
        .reshape([1, num_classes])
        .expand([n, num_classes]);
    targets
        .reshape([n, 1])
        .expand([n, num_classes])
        .equal(classes)
        .float()
}

/// Squared error against one-hot targets:
/// `(1/N) * sum_n sum_c 0.5 * (logits[n, c] - onehot(targets)[n, c])^2`
/// (mean over the batch, half sum over classes). Returns a 1-element tensor.
pub fn mse_one_hot<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    num_classes: usize,
) -> Tensor<B, 1> {
    let [n, c] = logits.dims();
    assert_eq!(
        c, num_classes,
        "mse_one_hot: logits have {c} classes, expected {num_classes}"
    );
    let diff = logits - one_hot(targets, num_classes);
    (diff.clone() * diff).sum().mul_scalar(0.5 / n as f64)
}

/// Fraction of rows of `logits [N, C]` whose arg-max equals the target class.
pub fn accuracy<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> f64 {
    let [n, _] = logits.dims();
    if n == 0 {
        return 0.0;
    }
    let predicted = logits.argmax(1).reshape([n]);
    let correct: i64 = predicted.equal(targets).int().sum().into_scalar().elem();
    correct as f64 / n as f64
}

/// Fraction of positions of sequence logits `[N, T, V]` whose arg-max equals the target token.
pub fn sequence_accuracy<B: Backend>(logits: Tensor<B, 3>, targets: Tensor<B, 2, Int>) -> f64 {
    let [n, t, v] = logits.dims();
    accuracy(logits.reshape([n * t, v]), targets.reshape([n * t]))
}
