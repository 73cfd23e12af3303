//! Statistics of the report's figures.

/// The mean, `None` for no values.
pub fn mean(it: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// The median of the finite values, `None` when there are none.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// One figure measured on several seeds: how many, their mean, smallest and largest. A verdict
/// reads the mean; the report shows the range beside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Seeds with a value.
    pub n: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (an infinite value, a diverged run, makes the mean infinite);
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let v: Vec<f64> = values.into_iter().collect();
        Some(Spread {
            n: v.len(),
            mean: mean(v.iter().copied())?,
            min: v.iter().copied().reduce(f64::min)?,
            max: v.iter().copied().reduce(f64::max)?,
        })
    }

    /// The mean, the figure a verdict rule reads.
    pub fn mean_of(s: &Option<Self>) -> Option<f64> {
        s.map(|s| s.mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_give_mean_and_range_and_an_infinite_value_makes_the_mean_infinite() {
        let s = Spread::of([0.79, 0.86, 1.19]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.946_666_666_666_666_7).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.79, 1.19));
        assert_eq!(
            Spread::of([1.0, f64::INFINITY]).unwrap().mean,
            f64::INFINITY
        );
        assert_eq!(Spread::of(std::iter::empty()), None);
        assert_eq!(median(vec![3.0, f64::NAN, 1.0]), Some(2.0));
    }
}
