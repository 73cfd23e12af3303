//! A finished run of a reproduction reduced to what the repository keeps: `config.toml`,
//! `summary.json` and `metrics.jsonl.gz` (the step records, gzip-compressed). Checkpoints,
//! per-run plots and the uncompressed records are removed, so that the committed runs stay
//! small and the report (which reads only these three files) regenerates from them.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::run::checkpoint::write_atomically;

/// The compressed records of an archived run.
pub const ARCHIVED_METRICS: &str = "metrics.jsonl.gz";

/// The files an archived run keeps.
const KEPT: [&str; 3] = ["config.toml", "summary.json", ARCHIVED_METRICS];

/// Compresses `dir/metrics.jsonl` into `dir/metrics.jsonl.gz` (written atomically, so a crash
/// leaves either the old or the new file) and then removes every other file of the run.
/// A folder without `metrics.jsonl` that already holds the archive is left as it is.
pub fn archive_run(dir: &Path) -> Result<()> {
    let plain = dir.join("metrics.jsonl");
    if plain.is_file() {
        let text = std::fs::read(&plain).with_context(|| format!("reading {}", plain.display()))?;
        // mtime 0 and a fixed level: the same records give the same bytes.
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&text)?;
        write_atomically(&dir.join(ARCHIVED_METRICS), &gz.finish()?)?;
    } else if !dir.join(ARCHIVED_METRICS).is_file() {
        anyhow::bail!("{}: no metrics.jsonl to archive", dir.display());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if KEPT.iter().any(|k| name == *k) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::metrics::read_metrics;

    #[test]
    fn archiving_keeps_the_records_and_drops_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let records = "{\"step\":1,\"epoch\":0,\"loss\":0.5,\"lr\":0.1,\"slope\":-1.0,\"grad_norm\":1.0,\"dir_norm\":1.0,\"loss_evals\":1,\"grad_evals\":1,\"hvp_evals\":0,\"step_time_s\":0.1,\"wall_time_s\":0.1}\n";
        std::fs::write(d.join("metrics.jsonl"), records).unwrap();
        for f in ["config.toml", "summary.json", "checkpoint.ckpt", "loss.png"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        archive_run(d).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["config.toml", "metrics.jsonl.gz", "summary.json"]);
        let back = read_metrics(&d.join(ARCHIVED_METRICS)).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].loss, Some(0.5));
        // Archiving again is a no-op, and the bytes do not depend on when it ran.
        let bytes = std::fs::read(d.join(ARCHIVED_METRICS)).unwrap();
        archive_run(d).unwrap();
        std::fs::write(d.join("metrics.jsonl"), records).unwrap();
        archive_run(d).unwrap();
        assert_eq!(std::fs::read(d.join(ARCHIVED_METRICS)).unwrap(), bytes);
    }
}
