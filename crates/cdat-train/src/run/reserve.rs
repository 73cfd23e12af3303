//! Room kept for a run's last words: the file `.cdat-train.reserve` (64 KiB) is written when a
//! run starts and removed when it ends, so that a run stopped by a full disk can still write
//! its `summary.json` (status `failed`, with the error): removing the reserve frees the space.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// File name of the reserve inside a run folder.
pub const FILE_NAME: &str = ".cdat-train.reserve";

/// Its size: many times a `summary.json` (about 1 KB), a few file-system blocks.
const BYTES: usize = 64 * 1024;

/// The reserve of a run folder; removed by [`Reserve::release`] or when dropped.
#[derive(Debug)]
pub struct Reserve {
    path: Option<PathBuf>,
}

impl Reserve {
    /// Writes the reserve into `dir` (a full disk fails here, before the run starts).
    pub fn take(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&path)?;
            f.write_all(&[0u8; BYTES])?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            return Err(e).with_context(|| {
                format!(
                    "writing {} ({} KiB kept free for the run's summary)",
                    path.display(),
                    BYTES / 1024
                )
            });
        }
        Ok(Self { path: Some(path) })
    }

    /// Removes the file, freeing its space (once; later calls do nothing).
    pub fn release(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_holds_its_bytes_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Reserve::take(dir.path()).unwrap();
        let p = dir.path().join(FILE_NAME);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), BYTES as u64);
        r.release();
        assert!(!p.exists());
        r.release();
        let r = Reserve::take(dir.path()).unwrap();
        drop(r);
        assert!(!p.exists(), "dropped: removed");
    }
}
