//! Writes the embedded MNIST subset `datasets/mnist-small/` (official gzipped IDX files):
//! 2,048 training and 512 test images, class-balanced by taking the first images of each
//! class in file order (counts per class differ by at most one).
//!
//! ```text
//! cargo run -p cdat-data --example make_mnist_small [SOURCE_DIR] [OUT_DIR]
//! ```
//! SOURCE_DIR defaults to `../shared/datasets/mnist` beside the project, OUT_DIR to
//! `cdat_data::embedded_mnist_dir()`. The output is byte-for-byte reproducible.

use std::path::PathBuf;

use cdat_data::idx::{encode_idx_images, encode_idx_labels, gzip_bytes};
use cdat_data::{embedded_mnist_dir, load_mnist, IdxImages, Split, Subset};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let source = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/mnist")
    });
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(embedded_mnist_dir);
    std::fs::create_dir_all(&out)?;
    for (split, prefix, n) in [(Split::Train, "train", 2048), (Split::Test, "t10k", 512)] {
        let data = load_mnist(&source, split)?.subset(&Subset::ClassBalancedFirst(n))?;
        let shape = data.shape();
        let images = IdxImages {
            count: data.len(),
            rows: shape.height,
            cols: shape.width,
            pixels: data.pixels().to_vec(),
        };
        let files = [
            (
                format!("{prefix}-images-idx3-ubyte.gz"),
                encode_idx_images(&images),
            ),
            (
                format!("{prefix}-labels-idx1-ubyte.gz"),
                encode_idx_labels(data.labels()),
            ),
        ];
        for (name, raw) in files {
            let gz = gzip_bytes(&raw);
            std::fs::write(out.join(&name), &gz)?;
            println!("{name}: {} images, {} bytes", data.len(), gz.len());
        }
        println!("  class counts: {:?}", data.class_counts());
    }
    Ok(())
}
