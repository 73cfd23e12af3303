//! How a number appears in the report's Markdown.

use super::stats::Spread;

/// A number in a Markdown cell: `–` for none, 3 decimals, or scientific outside [1e-3, 1e4).
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v.is_infinite() => "∞".into(),
        Some(v) if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) => format!("{v:.2e}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// A figure over seeds in a Markdown cell: `mean [min, max]`, the mean alone for one seed,
/// `–` for none.
pub fn spread(s: &Option<Spread>) -> String {
    match s {
        None => "–".into(),
        Some(s) if s.n == 1 => num(Some(s.mean)),
        Some(s) => format!(
            "{} [{}, {}]",
            num(Some(s.mean)),
            num(Some(s.min)),
            num(Some(s.max))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_show_the_mean_and_the_range() {
        assert_eq!(spread(&Spread::of([1.0, 2.0, 4.5])), "2.500 [1.000, 4.500]");
        assert_eq!(spread(&Spread::of([0.5])), "0.500");
        assert_eq!(spread(&None), "–");
        assert_eq!(num(Some(f64::INFINITY)), "∞");
        assert_eq!(num(Some(2.5e-5)), "2.50e-5");
    }
}
