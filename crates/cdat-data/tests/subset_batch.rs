//! Deterministic subsets and the seeded mini-batch iterator.

mod common;

use std::collections::BTreeSet;

use cdat_data::{
    load_cifar10, subset_indices, BatchSampler, ImageDataset, ImageShape, Split, Subset,
    TextDataset,
};
use common::{shared_dir, B};

/// `n` 1x2x2 images whose pixels encode their index; labels `i % 10`.
fn numbered(n: usize) -> ImageDataset {
    let pixels = (0..n).flat_map(|i| [i as u8; 4]).collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    let shape = ImageShape {
        channels: 1,
        height: 2,
        width: 2,
    };
    ImageDataset::new(pixels, labels, shape, 10).unwrap()
}

#[test]
fn class_balanced_subset_is_equal_per_class_and_deterministic() {
    let full = load_cifar10(&shared_dir().join("cifar10"), Split::Train).unwrap();
    let pick = |seed| {
        let labels = Some((full.labels(), 10));
        subset_indices(full.len(), labels, &Subset::ClassBalanced { n: 500, seed }).unwrap()
    };
    let a = pick(7);
    assert_eq!(a.len(), 500);
    assert!(
        a.windows(2).all(|w| w[0] < w[1]),
        "indices ascending and distinct"
    );
    assert_eq!(a, pick(7), "same seed, same subset");
    assert_ne!(a, pick(8), "another seed, another subset");

    let sub = full
        .subset(&Subset::ClassBalanced { n: 500, seed: 7 })
        .unwrap();
    assert_eq!(sub.class_counts(), [50; 10]);
    assert_eq!(sub.image(0), full.image(a[0]));
    assert_eq!(
        sub,
        full.subset(&Subset::ClassBalanced { n: 500, seed: 7 })
            .unwrap()
    );
    // Not simply the first images of each class.
    assert_ne!(sub, full.subset(&Subset::ClassBalancedFirst(500)).unwrap());
}

#[test]
fn class_balanced_counts_differ_by_at_most_one() {
    let d = numbered(1000);
    let sub = d
        .subset(&Subset::ClassBalanced { n: 123, seed: 3 })
        .unwrap();
    assert_eq!(sub.class_counts(), [13, 13, 13, 12, 12, 12, 12, 12, 12, 12]);
    let first = d.subset(&Subset::ClassBalancedFirst(20)).unwrap();
    assert_eq!(first.labels().len(), 20);
    assert_eq!(
        first.pixels()[..4 * 20]
            .chunks(4)
            .map(|c| c[0])
            .collect::<Vec<_>>(),
        (0..20).collect::<Vec<u8>>()
    );
    let head = d.subset(&Subset::First(5)).unwrap();
    assert_eq!(head.labels(), [0, 1, 2, 3, 4]);
    assert_eq!(d.subset(&Subset::All).unwrap(), d);
}

#[test]
fn sampler_drops_last_partial_batch_and_shuffles_per_epoch() {
    let s = BatchSampler::new(10, 3, 42).unwrap();
    assert_eq!(s.batches_per_epoch(), 3);
    let epoch0: Vec<Vec<usize>> = s.epoch(0).collect();
    assert_eq!(epoch0.len(), 3);
    assert!(epoch0.iter().all(|b| b.len() == 3));
    let seen: BTreeSet<usize> = epoch0.iter().flatten().copied().collect();
    assert_eq!(seen.len(), 9, "no repeats within an epoch");

    let order = |seed, epoch| BatchSampler::new(100, 10, seed).unwrap().epoch_order(epoch);
    assert_eq!(
        order(42, 0),
        order(42, 0),
        "deterministic per seed and epoch"
    );
    assert_ne!(order(42, 0), order(42, 1), "a new order each epoch");
    assert_ne!(order(42, 0), order(43, 0), "another seed, another order");
    assert_ne!(order(42, 0), (0..100).collect::<Vec<_>>(), "shuffled");
    let mut sorted = order(42, 5);
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "a permutation");

    assert_eq!(BatchSampler::new(10, 10, 0).unwrap().epoch(0).count(), 1);
}

#[test]
fn image_mini_batches_are_tensors_of_the_sampled_examples() {
    let device = Default::default();
    let d = numbered(25);
    let batches: Vec<_> = d.mini_batches::<B>(8, 1, 0, &device).unwrap().collect();
    assert_eq!(
        batches.len(),
        3,
        "25 / 8 -> 3 full batches, 1 example dropped"
    );
    let expected = d.sampler(8, 1).unwrap().epoch(0).collect::<Vec<_>>();
    for (batch, indices) in batches.into_iter().zip(expected) {
        assert_eq!(batch.images.dims(), [8, 1, 2, 2]);
        let px = batch.images.into_data().to_vec::<f32>().unwrap();
        let got: Vec<usize> = px
            .chunks(4)
            .map(|c| (c[0] * 255.0).round() as usize)
            .collect();
        assert_eq!(got, indices);
        let labels = batch
            .labels
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        assert_eq!(
            labels,
            indices.iter().map(|&i| (i % 10) as i64).collect::<Vec<_>>()
        );
    }
    let again: Vec<_> = d.mini_batches::<B>(8, 1, 0, &device).unwrap().collect();
    let other: Vec<_> = d.mini_batches::<B>(8, 1, 1, &device).unwrap().collect();
    let flat = |b: &[cdat_data::ImageBatch<B>]| -> Vec<f32> {
        b.iter()
            .flat_map(|x| x.images.clone().into_data().to_vec::<f32>().unwrap())
            .collect()
    };
    let first: Vec<_> = d.mini_batches::<B>(8, 1, 0, &device).unwrap().collect();
    assert_eq!(flat(&first), flat(&again));
    assert_ne!(flat(&first), flat(&other));
    assert!(d.mini_batches::<B>(26, 1, 0, &device).is_err());
}

#[test]
fn text_mini_batches() {
    let device = Default::default();
    let text = TextDataset::from_text("the quick brown fox jumps over the lazy dog", 4).unwrap();
    assert_eq!(text.len(), 10);
    let mut it = text.mini_batches::<B>(3, 9, 2, &device).unwrap();
    assert_eq!(it.len(), 3);
    let b = it.next().unwrap();
    assert_eq!(b.inputs.dims(), [3, 4]);
    let x = b
        .inputs
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    let y = b
        .targets
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    for (xr, yr) in x.chunks(4).zip(y.chunks(4)) {
        assert_eq!(xr[1..], yr[..3]);
    }
    let sub = text.subset(&Subset::First(4)).unwrap();
    assert_eq!(sub.block(3), text.block(3));
}
