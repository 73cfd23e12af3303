//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use cdat_data::idx::{encode_idx_images, encode_idx_labels};
use cdat_data::IdxImages;

/// The CPU backend used by the tensor tests.
pub type B = burn::backend::NdArray;

/// The read-only real data beside the project: `<crate>/../../../shared/datasets`.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
}

/// A valid raw IDX images file of `count` images of `rows x cols`, pixel `k` = `k % 251`.
pub fn idx_images(count: usize, rows: usize, cols: usize) -> Vec<u8> {
    let pixels = (0..count * rows * cols).map(|k| (k % 251) as u8).collect();
    encode_idx_images(&IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// A valid raw IDX labels file with labels `0, 1, ..., 9, 0, ...`.
pub fn idx_labels(count: usize) -> Vec<u8> {
    encode_idx_labels(&(0..count).map(|i| (i % 10) as u8).collect::<Vec<_>>())
}

/// A valid CIFAR-10 buffer of `count` records with labels `i % 10`.
pub fn cifar_records(count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 3073);
    for i in 0..count {
        out.push((i % 10) as u8);
        out.extend((0..3072).map(|k| ((k + i) % 256) as u8));
    }
    out
}
