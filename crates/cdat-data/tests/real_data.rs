//! Loaders on the real data in `../shared/datasets` and on the embedded MNIST subset.
//!
//! The expected numbers (class counts, pixel values of the first images) were computed
//! once from the files, independently of this crate, and hard-coded.

mod common;

use cdat_data::{
    embedded_mnist_dir, load, load_cifar10, load_mnist, load_tiny_shakespeare, load_train_test,
    Dataset, DatasetKind, LoadOptions, Normalization, Split, Subset,
};
use common::{shared_dir, B};

fn pixel_sum(image: &[u8]) -> u64 {
    image.iter().map(|&v| v as u64).sum()
}

#[test]
fn mnist_train_counts_labels_and_first_image() {
    let d = load_mnist(&shared_dir().join("mnist"), Split::Train).unwrap();
    assert_eq!(d.len(), 8_000);
    assert_eq!(
        (d.shape().channels, d.shape().height, d.shape().width),
        (1, 28, 28)
    );
    assert!(d.labels().iter().all(|&l| l <= 9));
    assert_eq!(
        d.class_counts(),
        [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]
    );
    assert_eq!(d.labels()[0], 9);
    let first = d.image(0);
    assert_eq!(pixel_sum(first), 17_928);
    assert_eq!(first[14 * 28 + 14], 254);
}

#[test]
fn mnist_test_counts_labels_and_first_image() {
    let d = load_mnist(&shared_dir().join("mnist"), Split::Test).unwrap();
    assert_eq!(d.len(), 2_000);
    assert_eq!(
        d.class_counts(),
        [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]
    );
    // About 1,000 per class over both splits.
    assert_eq!(d.labels()[0], 9);
    assert_eq!(pixel_sum(d.image(0)), 20_045);
    assert_eq!(d.image(0)[14 * 28 + 14], 79);
}

#[test]
fn cifar10_counts_labels_and_first_images() {
    let dir = shared_dir().join("cifar10");
    let train = load_cifar10(&dir, Split::Train).unwrap();
    assert_eq!(train.len(), 10_000);
    assert_eq!((train.shape().channels, train.shape().height), (3, 32));
    assert_eq!(train.class_counts(), [1_000; 10]);
    assert_eq!(train.labels()[0], 2);
    let img = train.image(0);
    assert_eq!(pixel_sum(img), 249_612);
    assert_eq!((img[0], img[1024], img[2048]), (93, 116, 74)); // R, G, B of pixel (0, 0)

    let test = load_cifar10(&dir, Split::Test).unwrap();
    assert_eq!(test.len(), 2_000);
    assert_eq!(test.class_counts(), [200; 10]);
    assert_eq!(test.labels()[0], 9);
    let img = test.image(0);
    assert_eq!(pixel_sum(img), 324_407);
    assert_eq!((img[0], img[1024], img[2048]), (104, 129, 159));
}

#[test]
fn tiny_shakespeare_vocab_split_and_blocks() {
    let dir = shared_dir().join("tinyshakespeare");
    let train = load_tiny_shakespeare(&dir, Split::Train, 128).unwrap();
    let test = load_tiny_shakespeare(&dir, Split::Test, 128).unwrap();
    assert_eq!(train.vocab().len(), 65);
    assert_eq!(train.vocab(), test.vocab());
    assert_eq!(train.tokens().len() + test.tokens().len(), 1_115_394);
    assert_eq!(train.tokens().len(), 1_003_854); // 90%
    assert_eq!(train.len(), (1_003_854 - 1) / 128);
    assert_eq!(test.len(), (111_540 - 1) / 128);
    let (x, y) = train.block(0);
    assert!(train
        .vocab()
        .decode(x)
        .unwrap()
        .starts_with("First Citizen:"));
    assert_eq!(&x[1..], &y[..127]);
    let (x1, _) = train.block(1);
    assert_eq!(y[127], x1[0]); // blocks are contiguous and non-overlapping
}

#[test]
fn load_finds_files_from_the_data_root_or_their_folder() {
    let opts = LoadOptions::default();
    for kind in DatasetKind::ALL {
        let from_root = load(kind, shared_dir(), Split::Test, &opts).unwrap();
        let folder = cdat_data::resolve_dir(kind, &shared_dir());
        assert_ne!(folder, shared_dir(), "{kind}");
        let from_folder = load(kind, &folder, Split::Test, &opts).unwrap();
        assert_eq!(from_root, from_folder, "{kind}");
    }
    assert_eq!(
        "cifar-10".parse::<DatasetKind>().unwrap(),
        DatasetKind::Cifar10
    );
    assert!("imagenet".parse::<DatasetKind>().is_err());
}

#[test]
fn full_batch_tensors_have_official_shapes() {
    let device = Default::default();
    let opts = LoadOptions {
        train_subset: Subset::First(64),
        test_subset: Subset::First(32),
        block_size: 16,
        ..LoadOptions::default()
    };

    let mnist = load(DatasetKind::Mnist, shared_dir(), Split::Train, &opts).unwrap();
    let mnist = mnist.as_image().unwrap();
    let b = mnist.full_batch::<B>(&device);
    assert_eq!(b.images.dims(), [64, 1, 28, 28]);
    assert_eq!(b.labels.dims(), [64]);
    let px = b.images.into_data().to_vec::<f32>().unwrap();
    assert!(px.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(px[14 * 28 + 14], 254.0 / 255.0);
    let labels = b
        .labels
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    let expected: Vec<i64> = mnist.labels().iter().map(|&l| l as i64).collect();
    assert_eq!(labels, expected);

    let cifar = load(DatasetKind::Cifar10, shared_dir(), Split::Test, &opts).unwrap();
    let b = cifar.as_image().unwrap().full_batch::<B>(&device);
    assert_eq!(b.images.dims(), [32, 3, 32, 32]);
    let px = b.images.into_data().to_vec::<f32>().unwrap();
    assert_eq!(
        (px[0], px[1024], px[2048]),
        (104.0 / 255.0, 129.0 / 255.0, 159.0 / 255.0)
    );

    let text = load(
        DatasetKind::TinyShakespeare,
        shared_dir(),
        Split::Train,
        &opts,
    )
    .unwrap();
    let Dataset::Text(text) = text else {
        panic!("text expected")
    };
    assert_eq!(text.len(), 64);
    let b = text.full_batch::<B>(&device);
    assert_eq!(b.inputs.dims(), [64, 16]);
    assert_eq!(b.targets.dims(), [64, 16]);
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
    assert_eq!(x[1..16], y[..15]);
    assert!(x.iter().chain(&y).all(|&t| (0..65).contains(&t)));
}

#[test]
fn standardization_uses_training_statistics() {
    let opts = LoadOptions {
        train_subset: Subset::ClassBalanced { n: 1000, seed: 1 },
        test_subset: Subset::First(500),
        standardize: true,
        ..LoadOptions::default()
    };
    let data = load_train_test(DatasetKind::Cifar10, shared_dir(), &opts).unwrap();
    let (train, test) = (
        data.train.as_image().unwrap(),
        data.test.as_image().unwrap(),
    );
    let Normalization::Standardize(stats) = train.normalization() else {
        panic!("train not standardized")
    };
    assert_eq!(test.normalization(), train.normalization());
    assert_eq!(stats, &train.channel_stats());
    assert!(
        stats.mean.iter().all(|m| (0.3..0.6).contains(m)),
        "{stats:?}"
    );
    assert!(
        stats.std.iter().all(|s| (0.15..0.35).contains(s)),
        "{stats:?}"
    );

    // Standardized training pixels have mean 0 and std 1 per channel.
    let all: Vec<usize> = (0..train.len()).collect();
    let x = train.to_f32(&all);
    for c in 0..3 {
        let ch: Vec<f64> = x
            .chunks_exact(1024)
            .skip(c)
            .step_by(3)
            .flatten()
            .map(|&v| v as f64)
            .collect();
        let mean = ch.iter().sum::<f64>() / ch.len() as f64;
        let var = ch.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / ch.len() as f64;
        assert!(mean.abs() < 1e-4, "channel {c}: mean {mean}");
        assert!(
            (var.sqrt() - 1.0).abs() < 1e-3,
            "channel {c}: std {}",
            var.sqrt()
        );
    }
}

#[test]
fn embedded_mnist_subset_loads_balanced() {
    let dir = embedded_mnist_dir();
    assert!(dir.ends_with("datasets/mnist-small"), "{}", dir.display());
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 2_000_000, "embedded subset is {total} bytes");

    let data = load_train_test(DatasetKind::Mnist, &dir, &LoadOptions::default()).unwrap();
    let (train, test) = (
        data.train.into_image().unwrap(),
        data.test.into_image().unwrap(),
    );
    assert_eq!(train.len(), 2_048);
    assert_eq!(test.len(), 512);
    assert_eq!(
        train.class_counts(),
        [205, 205, 205, 205, 205, 205, 205, 205, 204, 204]
    );
    assert_eq!(
        test.class_counts(),
        [52, 52, 51, 51, 51, 51, 51, 51, 51, 51]
    );

    // It is exactly the first images of each class of the shared real data.
    for (split, d) in [(Split::Train, &train), (Split::Test, &test)] {
        let full = load_mnist(&shared_dir().join("mnist"), split).unwrap();
        let again = full.subset(&Subset::ClassBalancedFirst(d.len())).unwrap();
        assert_eq!(&again, d);
    }
}
