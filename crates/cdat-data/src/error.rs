//! The error type of every loader, parser and sampler in this crate.
//!
//! Each message names the file (or, for in-memory buffers, the name the caller
//! gave) and the problem, so it can be shown to a user as is.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while reading, checking or batching a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A data file (or the data directory) does not exist.
    #[error(
        "{}: {dataset} file not found. Download the full data set with \
         `scripts/fetch-datasets.sh <dir>` and pass `--data-dir <dir>` \
         (MNIST also works offline from the embedded subset in datasets/mnist-small)",
        path.display()
    )]
    MissingFile {
        /// Human-readable data-set name, e.g. "MNIST".
        dataset: &'static str,
        /// The path that was looked for.
        path: PathBuf,
    },

    /// The operating system failed to read a file.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A gzip stream is corrupt.
    #[error("{file}: corrupt gzip stream: {source}")]
    Gzip {
        /// The file (or buffer name).
        file: String,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },

    /// An IDX file starts with the wrong magic number.
    #[error(
        "{file}: wrong IDX magic number {found} (0x{found:08x}); expected {expected} \
         (0x{expected:08x}) for an IDX {what} file"
    )]
    BadMagic {
        /// The file (or buffer name).
        file: String,
        /// What the file should contain ("images" or "labels").
        what: &'static str,
        /// The magic number required.
        expected: u32,
        /// The magic number found.
        found: u32,
    },

    /// A header field is impossible (zero dimension, size overflow, ...).
    #[error("{file}: invalid header: {problem}")]
    InvalidHeader {
        /// The file (or buffer name).
        file: String,
        /// What is wrong with the header.
        problem: String,
    },

    /// The byte length does not match what the header declares (truncated or padded file).
    #[error(
        "{file}: {what}: expected {expected} bytes but found {found}{}",
        if found < expected { " (file truncated?)" } else { " (trailing bytes)" }
    )]
    SizeMismatch {
        /// The file (or buffer name).
        file: String,
        /// Which part of the file ("IDX header", "image data", ...).
        what: &'static str,
        /// The number of bytes the header (or format) requires.
        expected: u64,
        /// The number of bytes actually present (for trailing data: at least this many).
        found: u64,
    },

    /// An image file and its label file disagree on the number of examples.
    #[error("{images_file} holds {images} images but {labels_file} holds {labels} labels")]
    CountMismatch {
        /// The image file.
        images_file: String,
        /// The label file.
        labels_file: String,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// A label is outside `0..num_classes`.
    #[error("{file}: label {label} of record {index} is out of range (expected 0..={})", num_classes.saturating_sub(1))]
    LabelOutOfRange {
        /// The file (or buffer name).
        file: String,
        /// Zero-based index of the offending record in that file.
        index: usize,
        /// The label value found.
        label: u8,
        /// Number of classes of the data set.
        num_classes: usize,
    },

    /// A CIFAR-10 binary file whose size is zero or not a multiple of the record size.
    #[error(
        "{file}: size {len} bytes is not a positive multiple of the {record}-byte \
         CIFAR-10 record (1 label byte + 3072 pixel bytes)"
    )]
    BadRecordSize {
        /// The file (or buffer name).
        file: String,
        /// The byte length found.
        len: u64,
        /// The record size required.
        record: usize,
    },

    /// A text file is empty.
    #[error("{file}: text is empty")]
    EmptyText {
        /// The file (or buffer name).
        file: String,
    },

    /// A text file is not valid UTF-8.
    #[error("{file}: not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// The file (or buffer name).
        file: String,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },

    /// The block size for character-level language modelling is unusable.
    #[error(
        "block size {block_size} is invalid for a text of {text_len} characters \
         (need 1 <= block size < text length, since the target is shifted by one)"
    )]
    BlockSize {
        /// Requested block length.
        block_size: usize,
        /// Number of characters available.
        text_len: usize,
    },

    /// A character is not in the vocabulary.
    #[error("character {ch:?} is not in the vocabulary")]
    UnknownChar {
        /// The character.
        ch: char,
    },

    /// A token index is outside the vocabulary.
    #[error("token index {index} is out of range for a vocabulary of {vocab_size} characters")]
    UnknownToken {
        /// The token index.
        index: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },

    /// A subset asks for more examples than the data set holds.
    #[error("subset of {requested} examples requested but the data set holds only {available}")]
    SubsetTooLarge {
        /// Examples requested.
        requested: usize,
        /// Examples available.
        available: usize,
    },

    /// A class-balanced subset needs more examples of one class than exist.
    #[error(
        "class-balanced subset needs {requested} examples of class {class} but the data set \
         holds only {available}"
    )]
    ClassTooSmall {
        /// The class.
        class: usize,
        /// Examples of that class requested.
        requested: usize,
        /// Examples of that class available.
        available: usize,
    },

    /// Batch size zero or larger than the data set.
    #[error("batch size {batch_size} is invalid for a data set of {len} examples (need 1 <= batch size <= {len})")]
    BatchSize {
        /// Requested batch size.
        batch_size: usize,
        /// Number of examples.
        len: usize,
    },

    /// Any other invalid argument.
    #[error("{0}")]
    InvalidArgument(String),
}
