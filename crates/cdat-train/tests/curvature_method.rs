//! The trainer's CDAT run is the same whether `uᵀHu` comes from one forward pass of a
//! second-order jet (the default) or from forward-over-reverse (issue 9).

mod common;

use std::path::Path;

use serde_json::Value;

use common::{metrics, run_fast, s, text};

fn run(out: &Path, method: &str) -> Vec<Value> {
    let o = run_fast(&[
        "--steps",
        "50",
        "--tuner",
        "cdat",
        "--curvature",
        method,
        "--out",
        s(out),
    ]);
    assert!(o.status.success(), "{method}: {}", text(&o));
    let config = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    assert!(
        config.contains(&format!("curvature = \"{method}\"")),
        "config.toml records the method:\n{config}"
    );
    metrics(out)
}

fn field(r: &Value, key: &str) -> f64 {
    r[key]
        .as_f64()
        .unwrap_or_else(|| panic!("record without `{key}`: {r}"))
}

#[test]
fn jet_and_forward_over_reverse_give_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    let jet = run(&tmp.path().join("jet"), "jet");
    let fwr = run(&tmp.path().join("for"), "forward-over-reverse");
    assert_eq!(jet.len(), 50);
    assert_eq!(fwr.len(), 50);
    // f32 arithmetic: the two passes round differently. At step 1 (the same parameters) the
    // loss is the same and uᵀHu and η differ by rounding only (measured 1.1e-5 relative: uᵀHu
    // sums terms of both signs); the bound is 1e-4. CDAT at σ = 2 sits on the edge of
    // stability, where such differences grow (measured over 50 steps: loss up to 6e-3
    // relative, uᵀHu up to 8e-2), so later steps are compared on the loss, to 2e-2: a wrong
    // curvature (a factor, a missing term) changes η and the loss at O(1) within a few steps.
    let rel = |x: f64, y: f64| (x - y).abs() / y.abs().max(1e-12);
    let (a, b) = (&jet[0], &fwr[0]);
    assert_eq!(field(a, "loss"), field(b, "loss"), "step 1 loss");
    for key in ["lr", "curvature", "slope"] {
        let r = rel(field(a, key), field(b, key));
        assert!(
            r <= 1e-4,
            "step 1: {key} differs by {r:e} relative:\n{a}\n{b}"
        );
    }
    let mut worst: f64 = 0.0;
    for (a, b) in jet.iter().zip(&fwr) {
        let r = rel(field(a, "loss"), field(b, "loss"));
        worst = worst.max(r);
        assert!(
            r <= 2e-2,
            "step {}: loss jet {} vs forward-over-reverse {} (rel {r:e})",
            a["step"],
            field(a, "loss"),
            field(b, "loss")
        );
    }
    eprintln!("largest relative difference over 50 steps: {worst:e}");
}
