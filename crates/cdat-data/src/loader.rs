//! Finding the official files in a directory and loading a split.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::cifar::{
    cifar10_train_files, read_cifar10_files, CIFAR_CHANNELS, CIFAR_CLASSES, CIFAR_SIDE,
};
use crate::error::{DataError, Result};
use crate::files::read_file;
use crate::idx::{read_idx_images, read_idx_labels, MNIST_CLASSES};
use crate::image::{ImageDataset, ImageShape, Normalization};
use crate::subset::Subset;
use crate::text::{parse_text, split_train_test, CharVocab, TextDataset};

/// The supported data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetKind {
    /// MNIST handwritten digits, IDX files (`train-images-idx3-ubyte[.gz]`, ...).
    Mnist,
    /// CIFAR-10, binary version (`data_batch_1.bin` ..= `data_batch_5.bin`, `test_batch.bin`).
    Cifar10,
    /// Tiny Shakespeare, `input.txt` from karpathy/char-rnn.
    TinyShakespeare,
}

impl DatasetKind {
    /// All kinds.
    pub const ALL: [DatasetKind; 3] = [Self::Mnist, Self::Cifar10, Self::TinyShakespeare];

    /// Short lowercase name, as accepted by [`FromStr`]: `mnist`, `cifar10`, `tinyshakespeare`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::Cifar10 => "cifar10",
            Self::TinyShakespeare => "tinyshakespeare",
        }
    }

    /// Number of classes of an image data set; `None` for text.
    pub fn num_classes(self) -> Option<usize> {
        match self {
            Self::Mnist => Some(MNIST_CLASSES),
            Self::Cifar10 => Some(CIFAR_CLASSES),
            Self::TinyShakespeare => None,
        }
    }

    /// Human-readable name: "MNIST", "CIFAR-10", "Tiny Shakespeare".
    pub fn title(self) -> &'static str {
        match self {
            Self::Mnist => "MNIST",
            Self::Cifar10 => "CIFAR-10",
            Self::TinyShakespeare => "Tiny Shakespeare",
        }
    }

    /// Sub-folders of a data root where the files may live (besides the root itself).
    fn subdirs(self) -> &'static [&'static str] {
        match self {
            Self::Mnist => &["mnist"],
            Self::Cifar10 => &["cifar10", "cifar-10-batches-bin"],
            Self::TinyShakespeare => &["tinyshakespeare"],
        }
    }

    /// File names whose presence identifies a folder holding this data set.
    fn markers(self) -> &'static [&'static str] {
        match self {
            Self::Mnist => &[
                "train-images-idx3-ubyte.gz",
                "train-images-idx3-ubyte",
                "t10k-images-idx3-ubyte.gz",
                "t10k-images-idx3-ubyte",
            ],
            Self::Cifar10 => &["data_batch_1.bin", "test_batch.bin"],
            Self::TinyShakespeare => &["input.txt"],
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "mnist" => Ok(Self::Mnist),
            "cifar10" | "cifar" => Ok(Self::Cifar10),
            "tinyshakespeare" | "shakespeare" => Ok(Self::TinyShakespeare),
            _ => Err(DataError::InvalidArgument(format!(
                "unknown data set {s:?} (expected mnist, cifar10 or tinyshakespeare)"
            ))),
        }
    }
}

/// Training or test part of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training files (for text: the first 90% of the characters).
    Train,
    /// The test files (for text: the last 10% of the characters).
    Test,
}

/// A loaded split: images or text.
#[derive(Debug, Clone, PartialEq)]
pub enum Dataset {
    /// MNIST or CIFAR-10.
    Image(ImageDataset),
    /// Tiny Shakespeare.
    Text(TextDataset),
}

impl Dataset {
    /// Number of examples (images or text blocks).
    pub fn len(&self) -> usize {
        match self {
            Self::Image(d) => d.len(),
            Self::Text(d) => d.len(),
        }
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The image data set, if this is one.
    pub fn as_image(&self) -> Option<&ImageDataset> {
        match self {
            Self::Image(d) => Some(d),
            Self::Text(_) => None,
        }
    }

    /// The text data set, if this is one.
    pub fn as_text(&self) -> Option<&TextDataset> {
        match self {
            Self::Text(d) => Some(d),
            Self::Image(_) => None,
        }
    }

    /// The image data set, or an error naming the mismatch.
    pub fn into_image(self) -> Result<ImageDataset> {
        match self {
            Self::Image(d) => Ok(d),
            Self::Text(_) => Err(DataError::InvalidArgument(
                "expected an image data set, got text".to_string(),
            )),
        }
    }

    /// The text data set, or an error naming the mismatch.
    pub fn into_text(self) -> Result<TextDataset> {
        match self {
            Self::Text(d) => Ok(d),
            Self::Image(_) => Err(DataError::InvalidArgument(
                "expected a text data set, got images".to_string(),
            )),
        }
    }

    /// The subset `subset` (class-balanced subsets are an error for text).
    pub fn subset(&self, subset: &Subset) -> Result<Self> {
        Ok(match self {
            Self::Image(d) => Self::Image(d.subset(subset)?),
            Self::Text(d) => Self::Text(d.subset(subset)?),
        })
    }
}

/// What [`load`] and [`load_train_test`] keep and how they prepare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Subset of the training split (default: all).
    pub train_subset: Subset,
    /// Subset of the test split (default: all).
    pub test_subset: Subset,
    /// Standardize images per channel with statistics of the training subset
    /// ([`load_train_test`] only; default: false, pixels in `[0, 1]`).
    pub standardize: bool,
    /// Characters per text block (text only; default 128).
    pub block_size: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            train_subset: Subset::All,
            test_subset: Subset::All,
            standardize: false,
            block_size: 128,
        }
    }
}

/// A training and a test split prepared together.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// Training split (subset applied).
    pub train: Dataset,
    /// Test split (subset applied, normalized with the training statistics).
    pub test: Dataset,
}

/// The folder holding the small real MNIST subset committed with the project
/// (2,048 training and 512 test images, official gzipped IDX files), usable as the
/// `data_dir` of [`DatasetKind::Mnist`] with no download.
pub fn embedded_mnist_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("datasets")
        .join("mnist-small")
}

/// The folder inside `data_dir` holding `kind`'s files: `data_dir` itself or a
/// conventional sub-folder (`mnist/`, `cifar10/`, `cifar-10-batches-bin/`,
/// `tinyshakespeare/`). Falls back to `data_dir`, so a missing file is reported there.
pub fn resolve_dir(kind: DatasetKind, data_dir: &Path) -> PathBuf {
    std::iter::once(data_dir.to_path_buf())
        .chain(kind.subdirs().iter().map(|s| data_dir.join(s)))
        .find(|dir| kind.markers().iter().any(|m| dir.join(m).is_file()))
        .unwrap_or_else(|| data_dir.to_path_buf())
}

/// Loads one split of `kind` from `data_dir` (see [`resolve_dir`]) and applies that
/// split's subset from `options`. Pixels are scaled to `[0, 1]`; standardization
/// needs training statistics, so it is done by [`load_train_test`] only.
pub fn load(
    kind: DatasetKind,
    data_dir: impl AsRef<Path>,
    split: Split,
    options: &LoadOptions,
) -> Result<Dataset> {
    let dir = resolve_dir(kind, data_dir.as_ref());
    let data = match kind {
        DatasetKind::Mnist => Dataset::Image(load_mnist(&dir, split)?),
        DatasetKind::Cifar10 => Dataset::Image(load_cifar10(&dir, split)?),
        DatasetKind::TinyShakespeare => {
            Dataset::Text(load_tiny_shakespeare(&dir, split, options.block_size)?)
        }
    };
    let subset = match split {
        Split::Train => &options.train_subset,
        Split::Test => &options.test_subset,
    };
    data.subset(subset)
}

/// Loads both splits with their subsets; when `options.standardize` is set, images of
/// both are standardized with the per-channel statistics of the training subset.
pub fn load_train_test(
    kind: DatasetKind,
    data_dir: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<TrainTest> {
    let dir = data_dir.as_ref();
    let mut train = load(kind, dir, Split::Train, options)?;
    let mut test = load(kind, dir, Split::Test, options)?;
    if options.standardize {
        if let (Dataset::Image(tr), Dataset::Image(te)) = (&train, &test) {
            let norm = Normalization::Standardize(tr.channel_stats());
            train = Dataset::Image(tr.clone().with_normalization(norm.clone())?);
            test = Dataset::Image(te.clone().with_normalization(norm)?);
        }
    }
    Ok(TrainTest { train, test })
}

/// Loads an MNIST split from the IDX files in `dir` (gzipped preferred, raw accepted).
pub fn load_mnist(dir: &Path, split: Split) -> Result<ImageDataset> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images_path = find_idx(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find_idx(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx_images(&images_path)?;
    let labels = read_idx_labels(&labels_path)?;
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_file: images_path.display().to_string(),
            labels_file: labels_path.display().to_string(),
            images: images.count,
            labels: labels.len(),
        });
    }
    let shape = ImageShape {
        channels: 1,
        height: images.rows,
        width: images.cols,
    };
    ImageDataset::new(images.pixels, labels, shape, MNIST_CLASSES)
}

/// Loads a CIFAR-10 split from `dir`: the `data_batch_{1..5}.bin` files that exist
/// (at least one), or `test_batch.bin`.
pub fn load_cifar10(dir: &Path, split: Split) -> Result<ImageDataset> {
    let files = match split {
        Split::Train => cifar10_train_files(dir),
        Split::Test => vec![dir.join("test_batch.bin")],
    };
    if files.is_empty() {
        return Err(DataError::MissingFile {
            dataset: "CIFAR-10",
            path: dir.join("data_batch_1.bin"),
        });
    }
    let records = read_cifar10_files(&files)?;
    let shape = ImageShape {
        channels: CIFAR_CHANNELS,
        height: CIFAR_SIDE,
        width: CIFAR_SIDE,
    };
    ImageDataset::new(records.pixels, records.labels, shape, CIFAR_CLASSES)
}

/// Loads a Tiny Shakespeare split from `dir/input.txt`: the vocabulary comes from the
/// whole text, the split is the first 90% (train) or last 10% (test) of the characters.
pub fn load_tiny_shakespeare(dir: &Path, split: Split, block_size: usize) -> Result<TextDataset> {
    let path = dir.join("input.txt");
    let text = parse_text(
        &read_file(&path, "Tiny Shakespeare")?,
        &path.display().to_string(),
    )?;
    let vocab = CharVocab::from_text(&text)?;
    let tokens = vocab.encode(&text)?;
    let (train, test) = split_train_test(&tokens);
    let part = match split {
        Split::Train => train,
        Split::Test => test,
    };
    TextDataset::new(vocab, part.to_vec(), block_size)
}

/// `dir/stem.gz` if it exists, else `dir/stem`, else a missing-file error for the `.gz`.
fn find_idx(dir: &Path, stem: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{stem}.gz"));
    let raw = dir.join(stem);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(DataError::MissingFile {
            dataset: DatasetKind::Mnist.title(),
            path: gz,
        })
    }
}
