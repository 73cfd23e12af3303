//! How a number appears in the report's Markdown.

/// A number in a Markdown cell: `–` for none, 3 decimals, or scientific outside [1e-3, 1e4).
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) => format!("{v:.2e}"),
        Some(v) => format!("{v:.3}"),
    }
}
