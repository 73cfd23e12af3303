//! Deterministic subsets: first-N, or class-balanced (seeded or in file order).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};
use crate::image::ImageDataset;
use crate::text::TextDataset;

/// Which examples of a data set to keep. Kept examples stay in their original order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subset {
    /// Everything.
    #[default]
    All,
    /// The first `n` examples.
    First(usize),
    /// `n` examples with equal counts per class (when `n` is not a multiple of the number
    /// of classes, the lowest class labels get one more), chosen at random within each
    /// class by a ChaCha8 generator seeded with `seed`.
    ClassBalanced {
        /// Total number of examples.
        n: usize,
        /// Seed of the selection.
        seed: u64,
    },
    /// Like [`Subset::ClassBalanced`] but taking the first examples of each class in file order.
    ClassBalancedFirst(usize),
}

/// Indices (ascending) of the examples `subset` keeps out of `len`.
///
/// `labels` (with the number of classes) is needed for the class-balanced variants.
pub fn subset_indices(
    len: usize,
    labels: Option<(&[u8], usize)>,
    subset: &Subset,
) -> Result<Vec<usize>> {
    let n = match *subset {
        Subset::All => return Ok((0..len).collect()),
        Subset::First(n) | Subset::ClassBalanced { n, .. } | Subset::ClassBalancedFirst(n) => n,
    };
    if n == 0 {
        return Err(DataError::InvalidArgument(
            "a subset must hold at least one example".to_string(),
        ));
    }
    if n > len {
        return Err(DataError::SubsetTooLarge {
            requested: n,
            available: len,
        });
    }
    let seed = match *subset {
        Subset::First(_) => return Ok((0..n).collect()),
        Subset::ClassBalanced { seed, .. } => Some(seed),
        _ => None,
    };
    let Some((labels, num_classes)) = labels else {
        return Err(DataError::InvalidArgument(
            "a class-balanced subset needs labelled examples (not available for text)".to_string(),
        ));
    };
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = seed.map(ChaCha8Rng::seed_from_u64);
    let mut picked = Vec::with_capacity(n);
    for (class, mut members) in by_class.into_iter().enumerate() {
        let quota = n / num_classes + usize::from(class < n % num_classes);
        if members.len() < quota {
            return Err(DataError::ClassTooSmall {
                class,
                requested: quota,
                available: members.len(),
            });
        }
        if let Some(rng) = rng.as_mut() {
            members.shuffle(rng);
        }
        picked.extend_from_slice(&members[..quota]);
    }
    picked.sort_unstable();
    Ok(picked)
}

impl ImageDataset {
    /// The subset `subset` of this data set (normalization is kept).
    pub fn subset(&self, subset: &Subset) -> Result<Self> {
        if *subset == Subset::All {
            return Ok(self.clone());
        }
        let labels = Some((self.labels(), self.num_classes()));
        Ok(self.select(&subset_indices(self.len(), labels, subset)?))
    }
}

impl TextDataset {
    /// The subset `subset` of the blocks; class-balanced subsets are an error for text.
    pub fn subset(&self, subset: &Subset) -> Result<Self> {
        Ok(self.select(&subset_indices(self.len(), None, subset)?))
    }
}
