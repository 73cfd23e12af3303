//! CIFAR-10, binary version: files of 3,073-byte records.
//!
//! Each record is 1 label byte (`0..=9`) followed by 3,072 pixel bytes: the 1,024
//! red values, then green, then blue, each plane row-major 32x32 — already the CHW
//! layout a tensor wants. The record count comes from the file size.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::files::{io_error, read_file};

/// Image side length.
pub const CIFAR_SIDE: usize = 32;
/// Colour channels.
pub const CIFAR_CHANNELS: usize = 3;
/// Pixel bytes per image (3 x 32 x 32).
pub const CIFAR_PIXELS: usize = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE;
/// Bytes per record: one label byte plus the pixels.
pub const CIFAR_RECORD_BYTES: usize = 1 + CIFAR_PIXELS;
/// Number of CIFAR-10 classes.
pub const CIFAR_CLASSES: usize = 10;
/// The class names, in label order.
pub const CIFAR_CLASS_NAMES: [&str; CIFAR_CLASSES] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Labels and pixels of one or more CIFAR-10 binary files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CifarRecords {
    /// One label per image, `0..=9`.
    pub labels: Vec<u8>,
    /// `labels.len() * 3072` bytes, each image in CHW order.
    pub pixels: Vec<u8>,
}

impl CifarRecords {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Checks that a CIFAR-10 file of `len` bytes holds a whole, positive number of records.
pub fn check_cifar_size(len: u64, file: &str) -> Result<usize> {
    let record = CIFAR_RECORD_BYTES as u64;
    if len == 0 || !len.is_multiple_of(record) {
        return Err(DataError::BadRecordSize {
            file: file.to_string(),
            len,
            record: CIFAR_RECORD_BYTES,
        });
    }
    usize::try_from(len / record)
        .map_err(|_| DataError::InvalidArgument(format!("{file}: too many records")))
}

/// Parses one CIFAR-10 binary file held in memory, appending to `out`.
pub fn parse_cifar10_into(bytes: &[u8], file: &str, out: &mut CifarRecords) -> Result<()> {
    let count = check_cifar_size(bytes.len() as u64, file)?;
    out.labels.reserve(count);
    out.pixels.reserve(count * CIFAR_PIXELS);
    for (index, record) in bytes.chunks_exact(CIFAR_RECORD_BYTES).enumerate() {
        let label = record[0];
        if label as usize >= CIFAR_CLASSES {
            return Err(DataError::LabelOutOfRange {
                file: file.to_string(),
                index,
                label,
                num_classes: CIFAR_CLASSES,
            });
        }
        out.labels.push(label);
        out.pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Parses one CIFAR-10 binary file held in memory; `file` names it in errors.
pub fn parse_cifar10(bytes: &[u8], file: &str) -> Result<CifarRecords> {
    let mut out = CifarRecords::default();
    parse_cifar10_into(bytes, file, &mut out)?;
    Ok(out)
}

/// Reads CIFAR-10 binary files from disk and concatenates their records in order.
///
/// Each file's size is checked before it is read.
pub fn read_cifar10_files<P: AsRef<Path>>(paths: &[P]) -> Result<CifarRecords> {
    let mut out = CifarRecords::default();
    for path in paths {
        let path = path.as_ref();
        let name = path.display().to_string();
        let len = std::fs::metadata(path)
            .map_err(|e| io_error(path, "CIFAR-10", e))?
            .len();
        check_cifar_size(len, &name)?;
        parse_cifar10_into(&read_file(path, "CIFAR-10")?, &name, &mut out)?;
    }
    Ok(out)
}

/// The official training files `data_batch_1.bin` ..= `data_batch_5.bin` present in `dir`.
pub fn cifar10_train_files(dir: &Path) -> Vec<PathBuf> {
    (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .filter(|p| p.is_file())
        .collect()
}
