//! Shared helpers for the integration tests: backends and a tiny reader for the real data in
//! `/work/shared/datasets` (CIFAR-10 binary records and Tiny Shakespeare text).
#![allow(dead_code)]

use std::path::PathBuf;

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{backend::Backend, ElementConversion, Int, Tensor, TensorData};

/// Plain CPU backend.
pub type B = NdArray<f32>;
/// Reverse-mode autodiff over the CPU backend.
pub type AD = Autodiff<NdArray<f32>>;

/// `<CARGO_MANIFEST_DIR>/../../../shared/datasets`.
pub fn datasets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
}

/// The first `n` CIFAR-10 training records as images `[n, 3, 32, 32]` (pixels / 255) and
/// labels `[n]`. Record layout: 1 label byte + 3,072 pixel bytes (R, G, B planes, row-major).
pub fn cifar_batch<Bk: Backend>(
    n: usize,
    device: &Bk::Device,
) -> (Tensor<Bk, 4>, Tensor<Bk, 1, Int>) {
    const RECORD: usize = 3073;
    let path = datasets_dir().join("cifar10/data_batch_1.bin");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(
        bytes.len() % RECORD,
        0,
        "CIFAR file size not a multiple of 3073"
    );
    assert!(bytes.len() / RECORD >= n, "not enough CIFAR records");
    let mut pixels = Vec::with_capacity(n * 3072);
    let mut labels = Vec::with_capacity(n);
    for record in bytes.chunks_exact(RECORD).take(n) {
        labels.push(record[0] as i64);
        pixels.extend(record[1..].iter().map(|&p| p as f32 / 255.0));
    }
    let images = Tensor::from_data(TensorData::new(pixels, [n, 3, 32, 32]), device);
    let labels = Tensor::from_data(TensorData::new(labels, [n]), device);
    (images, labels)
}

/// Character-level batch from the first characters of Tiny Shakespeare: `batch` windows of
/// `seq_len + 1` characters at stride `seq_len`, returned as inputs `[batch, seq_len]`,
/// next-character targets `[batch, seq_len]` and the vocabulary size (sorted distinct chars of
/// the text read).
pub fn shakespeare_batch<Bk: Backend>(
    batch: usize,
    seq_len: usize,
    device: &Bk::Device,
) -> (Tensor<Bk, 2, Int>, Tensor<Bk, 2, Int>, usize) {
    let path = datasets_dir().join("tinyshakespeare/input.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let chars: Vec<char> = text.chars().take(batch * seq_len + 1).collect();
    let mut vocab = chars.clone();
    vocab.sort_unstable();
    vocab.dedup();
    let ids: Vec<i64> = chars
        .iter()
        .map(|c| vocab.binary_search(c).unwrap() as i64)
        .collect();
    let mut inputs = Vec::with_capacity(batch * seq_len);
    let mut targets = Vec::with_capacity(batch * seq_len);
    for b in 0..batch {
        let start = b * seq_len;
        inputs.extend_from_slice(&ids[start..start + seq_len]);
        targets.extend_from_slice(&ids[start + 1..start + seq_len + 1]);
    }
    (
        Tensor::from_data(TensorData::new(inputs, [batch, seq_len]), device),
        Tensor::from_data(TensorData::new(targets, [batch, seq_len]), device),
        vocab.len(),
    )
}

/// Scalar value of a 1-element loss tensor.
pub fn scalar<Bk: Backend>(t: Tensor<Bk, 1>) -> f32 {
    t.into_scalar().elem::<f32>()
}
