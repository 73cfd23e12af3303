//! Offline data loaders for the data sets of the cdat experiments, reading each data
//! set's **official file format**:
//!
//! - MNIST: IDX files, raw or gzipped ([`idx`]);
//! - CIFAR-10: the binary version, 3,073-byte records ([`cifar`]);
//! - Tiny Shakespeare: plain UTF-8 text, character level ([`text`]).
//!
//! Parsers are pure Rust and never panic or allocate from an unchecked header; every
//! problem is a [`DataError`] naming the file. On top of them: deterministic subsets
//! ([`Subset`]), `[0, 1]` scaling or per-channel standardization ([`Normalization`]),
//! and Burn tensors on any backend, either the whole set at once
//! ([`ImageDataset::full_batch`]) or seeded mini-batches ([`ImageDataset::mini_batches`]).
//!
//! ```no_run
//! use cdat_data::{load_train_test, embedded_mnist_dir, DatasetKind, LoadOptions, Subset};
//! # fn main() -> cdat_data::Result<()> {
//! let options = LoadOptions {
//!     train_subset: Subset::ClassBalanced { n: 1000, seed: 0 },
//!     ..LoadOptions::default()
//! };
//! let data = load_train_test(DatasetKind::Mnist, embedded_mnist_dir(), &options)?;
//! let train = data.train.into_image()?;
//! # type B = burn::backend::NdArray;
//! let batch = train.full_batch::<B>(&Default::default()); // images [1000, 1, 28, 28]
//! # Ok(()) }
//! ```

pub mod batch;
pub mod cifar;
pub mod error;
mod files;
pub mod idx;
pub mod image;
pub mod loader;
pub mod subset;
pub mod text;

pub use batch::{BatchSampler, BatchSource, EpochBatches, ImageBatch, MiniBatches, TextBatch};
pub use cifar::{parse_cifar10, read_cifar10_files, CifarRecords, CIFAR_CLASS_NAMES};
pub use error::{DataError, Result};
pub use files::read_file;
pub use idx::{parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels, IdxImages};
pub use image::{ChannelStats, ImageDataset, ImageShape, Normalization};
pub use loader::{
    embedded_mnist_dir, load, load_cifar10, load_mnist, load_tiny_shakespeare, load_train_test,
    resolve_dir, Dataset, DatasetKind, LoadOptions, Split, TrainTest,
};
pub use subset::{subset_indices, Subset};
pub use text::{parse_text, CharVocab, TextDataset};
