//! Checkpoints: one file `checkpoint.ckpt`, written atomically (temporary file in the same
//! folder, fsync, rename), holding named binary sections:
//!
//! - `state.json`: step, epoch, RNG/data-order state, bookkeeping ([`CheckpointState`]);
//! - `model.mpk`: the model's Burn record (named MessagePack, full precision);
//! - `tuner.bin`: the tuner's and base optimizer's state;
//! - `eigvec.f64`: the last sharpness eigenvector (warm start of the next power iteration);
//! - `config.toml`: the part of the run's resolved configuration that a resumed run must share
//!   (`RunConfig::resume_identity`), whose SHA-256 is also in `state.json` (`config_hash`).
//!
//! Layout (version 2): the magic `CDATCKPT`, a little-endian `u32` version, then for each
//! section a `u32` name length, the UTF-8 name, a `u64` data length and the data, then the
//! SHA-256 of everything before it (32 bytes). A file whose checksum does not match (flipped
//! or overwritten bytes, a truncated copy) is refused. Version 1 files (no checksum) are
//! refused too: they cannot be verified.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::run::error::UserError;

const MAGIC: &[u8; 8] = b"CDATCKPT";
const VERSION: u32 = 2;
const CHECKSUM_LEN: usize = 32;

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
    /// SHA-256 (hex) of the run's configuration as a resumed run must share it
    /// ([`config_hash`]).
    pub config_hash: String,
}

/// SHA-256 (hex) of a text.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The configuration text a checkpoint is tied to: what `--resume` may not change
/// (`RunConfig::resume_identity`), as TOML.
pub fn config_identity_text(config: &crate::run::config::RunConfig) -> Result<String> {
    config.resume_identity().to_toml_string()
}

/// SHA-256 (hex) of [`config_identity_text`].
pub fn config_hash(config: &crate::run::config::RunConfig) -> Result<String> {
    Ok(sha256_hex(config_identity_text(config)?.as_bytes()))
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
        let checksum = {
            use sha2::Digest;
            sha2::Sha256::digest(&out)
        };
        out.extend_from_slice(&checksum);
        out
    }

    /// Parses; the checksum is verified first, then every length is checked against the
    /// bytes present.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            bail!("not a cdat-train checkpoint (bad magic)");
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
        if version == 1 {
            bail!(
                "checkpoint format 1 (written by an older cdat-train) has no checksum and is not \
                 tied to its configuration, so it cannot be verified; start the run over"
            );
        }
        if version != VERSION {
            bail!("checkpoint version {version} is not supported (expected {VERSION})");
        }
        if bytes.len() < 12 + CHECKSUM_LEN {
            bail!("checkpoint is truncated (no checksum)");
        }
        let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        let computed = {
            use sha2::Digest;
            sha2::Sha256::digest(body)
        };
        if computed.as_slice() != stored {
            bail!(
                "checkpoint is corrupted: its SHA-256 checksum does not match its content \
                 (stored {}, computed {}); the file was damaged or truncated after it was written",
                hex(stored),
                hex(&computed)
            );
        }
        let bytes = body;
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

    /// Reads `path`; a damaged or unverifiable file is an input error naming it.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|e| {
            UserError::new(format!(
                "checkpoint `{}`: {e:#}; it cannot be resumed from (start the run over with \
                 --force instead of --resume)",
                path.display()
            ))
            .into()
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    let tmp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
    let written = (|| -> Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(data)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("writing {} to disk", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if written.is_err() {
        // A partial temporary file (a full disk) must not stay behind; `path` is untouched.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// How the temporary files of [`write_atomically`] end (`.<name>.<pid>.tmp`).
const TEMP_SUFFIX: &str = ".tmp";

/// Removes the temporary files this process left in `dir` (`.<name>.<pid>.tmp`); returns
/// their names.
pub fn remove_own_temp_files(dir: &Path) -> Vec<String> {
    let own = format!(".{}{TEMP_SUFFIX}", std::process::id());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.ends_with(&own))
        .filter(|n| std::fs::remove_file(dir.join(n)).is_ok())
        .collect()
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
    fn any_changed_byte_fails_the_checksum() {
        let mut c = Checkpoint::default();
        c.add("model.mpk", (0..200u8).collect());
        c.add("state.json", b"{}".to_vec());
        let bytes = c.to_bytes();
        // Every byte after the header, overwritten in turn (16 bytes at once as in the issue,
        // and single bits).
        for at in 12..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            let e = Checkpoint::from_bytes(&bad).unwrap_err();
            assert!(format!("{e:#}").contains("checksum"), "byte {at}: {e:#}");
        }
        let mut bad = bytes.clone();
        bad[40..56].copy_from_slice(&[0xAB; 16]);
        assert!(format!("{:#}", Checkpoint::from_bytes(&bad).unwrap_err()).contains("checksum"));
        // Version 1 (no checksum) is refused with a reason.
        let mut v1 = bytes.clone();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert!(format!("{:#}", Checkpoint::from_bytes(&v1).unwrap_err()).contains("no checksum"));
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
