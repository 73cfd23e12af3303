//! Checkpoints: one file `checkpoint.ckpt`, written atomically (temporary file in the same
//! folder, fsync, rename), holding named binary sections:
//!
//! - `state.json`: step, epoch, RNG/data-order state, bookkeeping ([`CheckpointState`]);
//! - `model.mpk`: the model's Burn record (named MessagePack, full precision);
//! - `tuner.bin`: the tuner's and base optimizer's state;
//! - `eigvec.f64`: the last sharpness eigenvector (warm start of the next power iteration).
//!
//! Layout: the magic `CDATCKPT`, a little-endian `u32` version, then for each section a `u32`
//! name length, the UTF-8 name, a `u64` data length and the data.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"CDATCKPT";
const VERSION: u32 = 1;

/// File name of the checkpoint inside a run folder.
pub const FILE_NAME: &str = "checkpoint.ckpt";

/// Bookkeeping saved with a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Steps completed (the model is the one after update `step`).
    pub step: usize,
    /// Epoch of the next batch.
    pub epoch: usize,
    /// Seed of everything random in the run.
    pub seed: u64,
    /// How the data order is drawn: batches of epoch `e` are a ChaCha8(seed, stream e)
    /// permutation, so the order is fully given by `seed` and `step`.
    pub data_order: String,
    /// Loss at step 1 (for the divergence test).
    pub initial_loss: Option<f64>,
    /// Wall time of the run so far.
    pub elapsed_s: f64,
    /// Number of sharpness measurements so far (seeds the random start vectors).
    pub sharpness_measurements: u64,
    /// Lengths of the eigenvector's per-parameter pieces, in module order.
    pub eigvec_lengths: Vec<usize>,
}

/// A checkpoint in memory.
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    /// Named sections.
    pub sections: Vec<(String, Vec<u8>)>,
}

impl Checkpoint {
    /// Adds a section.
    pub fn add(&mut self, name: &str, data: Vec<u8>) {
        self.sections.push((name.to_string(), data));
    }

    /// The data of a section.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    /// Serializes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for (name, data) in &self.sections {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// Parses; every length is checked against the bytes present.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            bail!("not a cdat-train checkpoint (bad magic)");
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
        if version != VERSION {
            bail!("checkpoint version {version} is not supported (expected {VERSION})");
        }
        let mut pos: usize = 12;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = pos.checked_add(n).filter(|e| *e <= bytes.len());
            let Some(end) = end else {
                bail!("checkpoint is truncated")
            };
            let s = &bytes[pos..end];
            pos = end;
            Ok(s)
        };
        let mut sections = Vec::new();
        loop {
            let Ok(len) = take(4) else { break };
            let name_len = u32::from_le_bytes(len.try_into()?) as usize;
            let name =
                String::from_utf8(take(name_len)?.to_vec()).context("checkpoint section name")?;
            let data_len = u64::from_le_bytes(take(8)?.try_into()?) as usize;
            let data = take(data_len)?.to_vec();
            sections.push((name, data));
        }
        Ok(Self { sections })
    }

    /// Writes atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_bytes())
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("reading checkpoint {}", path.display()))
    }
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so that a
/// reader sees either the old or the new content, never a torn file.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(data)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().ok();
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Little-endian f64 bytes.
pub fn f64s_to_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Inverse of [`f64s_to_bytes`].
pub fn bytes_to_f64s(b: &[u8]) -> Result<Vec<f64>> {
    if !b.len().is_multiple_of(8) {
        bail!("f64 section length {} is not a multiple of 8", b.len());
    }
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_truncation_is_an_error() {
        let mut c = Checkpoint::default();
        c.add("a", vec![1, 2, 3]);
        c.add("empty", Vec::new());
        c.add("b", f64s_to_bytes(&[1.5, -2.0]));
        let bytes = c.to_bytes();
        let d = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(d.get("a"), Some(&[1u8, 2, 3][..]));
        assert_eq!(d.get("empty"), Some(&[][..]));
        assert_eq!(bytes_to_f64s(d.get("b").unwrap()).unwrap(), vec![1.5, -2.0]);
        assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Checkpoint::from_bytes(b"not a checkpoint").is_err());
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        write_atomically(&p, b"one").unwrap();
        write_atomically(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
