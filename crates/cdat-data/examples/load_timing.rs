//! Prints how long loading the shared CIFAR-10 subset takes (10,000 train + 2,000 test
//! images) and turning the training set into one tensor. Not a benchmark, just a number:
//!
//! ```text
//! cargo run --release -p cdat-data --example load_timing [DATA_DIR]
//! ```
//! DATA_DIR defaults to `../shared/datasets` beside the project.

use std::path::PathBuf;
use std::time::Instant;

use cdat_data::{load_train_test, DatasetKind, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
        });
    let start = Instant::now();
    let data = load_train_test(DatasetKind::Cifar10, &dir, &LoadOptions::default())?;
    let loaded = start.elapsed();
    let train = data.train.into_image()?;
    let start = Instant::now();
    let batch = train.full_batch::<burn::backend::NdArray>(&Default::default());
    let tensor = start.elapsed();
    println!(
        "CIFAR-10: loaded {} train + {} test images in {:.1} ms; full-batch tensor {:?} in {:.1} ms",
        train.len(),
        data.test.len(),
        loaded.as_secs_f64() * 1e3,
        batch.images.dims(),
        tensor.as_secs_f64() * 1e3,
    );
    Ok(())
}
