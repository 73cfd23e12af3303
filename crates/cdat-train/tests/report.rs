//! The committed reproduction regenerates from the committed runs (issue 18): `cdat-train
//! reproduce --report-only` over `experiments/runs/` (each finished run's `config.toml`,
//! `summary.json` and `metrics.jsonl.gz`) writes `experiments/REPORT.md` and every file of
//! `experiments/results/` (tables, PNG and SVG plots, the simplified-model curves) byte for
//! byte as committed.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{assert_ok, run, s};

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

#[test]
fn the_committed_report_regenerates_byte_for_byte_from_the_committed_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let experiments = root.join("experiments");
    let tmp = tempfile::tempdir().unwrap();
    let (results, report) = (tmp.path().join("results"), tmp.path().join("REPORT.md"));
    let o = run(&[
        "reproduce",
        "--plan",
        s(&experiments.join("paper/plan.toml")),
        "--report-only",
        // Not read: a report needs only the runs.
        "--data-root",
        s(&tmp.path().join("no-data")),
        "--out",
        s(&experiments.join("runs")),
        "--results",
        s(&results),
        "--report",
        s(&report),
    ]);
    assert_ok(&o);
    let want = std::fs::read_to_string(experiments.join("REPORT.md")).unwrap();
    let got = std::fs::read_to_string(&report).unwrap();
    if let Some((i, (w, g))) = want
        .lines()
        .zip(got.lines())
        .enumerate()
        .find(|(_, (w, g))| w != g)
    {
        panic!(
            "REPORT.md, line {}:\ncommitted   {w}\nregenerated {g}\n(rerun `cdat-train reproduce --report-only` and commit)",
            i + 1
        );
    }
    assert_eq!(got, want, "REPORT.md: same lines, different bytes");
    let committed = experiments.join("results");
    assert_eq!(
        files(&results),
        files(&committed),
        "the files of experiments/results"
    );
    for f in files(&committed) {
        assert!(
            std::fs::read(results.join(&f)).unwrap() == std::fs::read(committed.join(&f)).unwrap(),
            "experiments/results/{} differs from its regenerated version",
            f.display()
        );
    }
}
