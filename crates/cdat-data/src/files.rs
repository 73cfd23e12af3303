//! File access shared by the loaders: a missing file becomes [`DataError::MissingFile`],
//! which tells the user how to download the data set.

use std::path::Path;

use crate::error::{DataError, Result};

/// Reads a whole file; `dataset` ("MNIST", "CIFAR-10", ...) is named if the file is missing.
pub fn read_file(path: &Path, dataset: &'static str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| io_error(path, dataset, source))
}

/// Maps an I/O error on `path`, turning "not found" into [`DataError::MissingFile`].
pub(crate) fn io_error(path: &Path, dataset: &'static str, source: std::io::Error) -> DataError {
    if source.kind() == std::io::ErrorKind::NotFound {
        DataError::MissingFile {
            dataset,
            path: path.to_path_buf(),
        }
    } else {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
