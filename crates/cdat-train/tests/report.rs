//! Regenerating the report from finished runs gives the same files, byte for byte (issue 12).
//!
//! `fixtures/report` holds a two-suite plan (the one of `reproduce_runs_a_plan_...` in
//! `cli.rs`), the files the report reads of its nine finished `--quick` runs (`config.toml`,
//! `metrics.jsonl`, `summary.json`), and the `REPORT.md`, `runs.csv`, `runs.md` and
//! `claims.csv` that `cdat-train reproduce --quick --report-only` wrote from them before the
//! refactor of issue 12.

mod common;

use std::path::Path;

use common::{assert_ok, run, s};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn the_report_of_finished_runs_is_byte_identical() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    copy_dir(&fixture.join("runs"), &out);
    let o = run(&[
        "reproduce",
        "--plan",
        s(&fixture.join("plan.toml")),
        "--quick",
        "--report-only",
        "--out",
        s(&out),
    ]);
    assert_ok(&o);
    for (expected, written) in [
        ("REPORT.md", out.join("REPORT.md")),
        ("runs.csv", out.join("results/runs.csv")),
        ("runs.md", out.join("results/runs.md")),
        ("claims.csv", out.join("results/claims.csv")),
    ] {
        let want = std::fs::read_to_string(fixture.join("expected").join(expected)).unwrap();
        let got = std::fs::read_to_string(&written).unwrap();
        if let Some((i, (w, g))) = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .find(|(_, (w, g))| w != g)
        {
            panic!("{expected}, line {}:\nexpected {w}\n     got {g}", i + 1);
        }
        assert_eq!(got, want, "{expected}: same lines, different bytes");
    }
}
