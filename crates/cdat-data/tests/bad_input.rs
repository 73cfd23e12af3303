//! Bad input gives a clear error naming the file and the problem, never a panic.

mod common;

use std::path::Path;

use cdat_data::idx::gzip_bytes;
use cdat_data::{
    load, load_mnist, parse_cifar10, parse_idx_images, parse_idx_labels, parse_text,
    read_cifar10_files, BatchSampler, CharVocab, DataError, DatasetKind, ImageDataset, ImageShape,
    LoadOptions, Split, Subset, TextDataset,
};
use common::{cifar_records, idx_images, idx_labels};
use tempfile::TempDir;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A temporary folder with a tiny valid MNIST training split (`count` images / labels).
fn mnist_dir(images: usize, labels: usize) -> TempDir {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gzip_bytes(&idx_images(images, 28, 28)),
    );
    write(dir.path(), "train-labels-idx1-ubyte", &idx_labels(labels));
    dir
}

#[test]
fn missing_files_point_to_the_fetch_script_and_data_dir_flag() {
    let empty = TempDir::new().unwrap();
    for kind in DatasetKind::ALL {
        for split in [Split::Train, Split::Test] {
            let err = load(kind, empty.path(), split, &LoadOptions::default()).unwrap_err();
            assert!(
                matches!(err, DataError::MissingFile { .. }),
                "{kind}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains("scripts/fetch-datasets.sh"), "{msg}");
            assert!(msg.contains("--data-dir"), "{msg}");
            assert!(msg.contains(&empty.path().display().to_string()), "{msg}");
        }
    }
    let err = load(
        DatasetKind::Mnist,
        "/no/such/dir",
        Split::Train,
        &LoadOptions::default(),
    );
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("/no/such/dir/train-images-idx3-ubyte.gz"));
}

#[test]
fn valid_tiny_files_load() {
    let dir = mnist_dir(12, 12);
    let d = load_mnist(dir.path(), Split::Train).unwrap();
    assert_eq!(d.len(), 12);
    assert_eq!(d.labels()[11], 1);
}

#[test]
fn wrong_idx_magic() {
    // Labels where images are expected, raw and gzipped.
    for bytes in [idx_labels(5), gzip_bytes(&idx_labels(5))] {
        let err = parse_idx_images(&bytes, "x.idx").unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    found: 2049,
                    expected: 2051,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("x.idx: wrong IDX magic number 2049"),
            "{err}"
        );
    }
    let err = parse_idx_labels(&idx_images(1, 2, 2), "y.idx").unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 2051,
                expected: 2049,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn image_label_count_mismatch_names_both_files() {
    let dir = mnist_dir(12, 11);
    let err = load_mnist(dir.path(), Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 12,
                labels: 11,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte.gz holds 12 images"),
        "{msg}"
    );
    assert!(
        msg.contains("train-labels-idx1-ubyte holds 11 labels"),
        "{msg}"
    );
}

#[test]
fn truncated_idx_files() {
    let full = idx_images(4, 28, 28);
    // Cut inside the pixels, raw and gzipped.
    for bytes in [full[..full.len() - 1].to_vec(), gzip_bytes(&full[..100])] {
        let err = parse_idx_images(&bytes, "t.idx").unwrap_err();
        assert!(
            matches!(err, DataError::SizeMismatch { expected: 3152, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }
    // Cut inside the header.
    let err = parse_idx_images(&full[..10], "t.idx").unwrap_err();
    assert!(matches!(
        err,
        DataError::SizeMismatch {
            what: "IDX header",
            found: 10,
            ..
        }
    ));
    // A gzip stream cut short is reported as corrupt gzip.
    let gz = gzip_bytes(&full);
    let err = parse_idx_images(&gz[..gz.len() - 10], "t.idx.gz").unwrap_err();
    assert!(
        matches!(err, DataError::Gzip { .. } | DataError::SizeMismatch { .. }),
        "{err:?}"
    );
    // Trailing bytes after the declared data.
    let mut long = idx_labels(3);
    long.push(0);
    let err = parse_idx_labels(&long, "l.idx").unwrap_err();
    assert!(err.to_string().contains("trailing bytes"), "{err}");
    // A header claiming 4 billion images in a tiny file is rejected without allocating.
    let mut lying = full.clone();
    lying[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = parse_idx_images(&lying, "big.idx").unwrap_err();
    assert!(matches!(err, DataError::SizeMismatch { .. }), "{err:?}");
    // Zero dimensions.
    let err = parse_idx_images(&idx_images(1, 0, 3), "zero.idx").unwrap_err();
    assert!(matches!(err, DataError::InvalidHeader { .. }), "{err:?}");
}

#[test]
fn mnist_label_above_nine() {
    let mut bytes = idx_labels(20);
    bytes[8 + 13] = 10;
    let err = parse_idx_labels(&bytes, "lab.idx").unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 13,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "lab.idx: label 10 of record 13 is out of range (expected 0..=9)"
    );
}

#[test]
fn cifar_size_not_a_multiple_of_the_record() {
    for len in [0, 1, 3072, 3074, 2 * 3073 + 5] {
        let bytes = vec![0u8; len];
        let err = parse_cifar10(&bytes, "c.bin").unwrap_err();
        assert!(
            matches!(err, DataError::BadRecordSize { .. }),
            "{len}: {err:?}"
        );
        assert!(err
            .to_string()
            .contains("not a positive multiple of the 3073-byte"));
    }
    // From disk, with the file named.
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "test_batch.bin",
        &cifar_records(3)[..3 * 3073 - 1],
    );
    let err = load(
        DatasetKind::Cifar10,
        dir.path(),
        Split::Test,
        &LoadOptions::default(),
    );
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("test_batch.bin: size 9218 bytes"), "{msg}");
}

#[test]
fn cifar_label_above_nine_names_the_record() {
    let mut bytes = cifar_records(4);
    bytes[2 * 3073] = 11;
    let err = parse_cifar10(&bytes, "data_batch_1.bin").unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 11,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("data_batch_1.bin: label 11 of record 2"),
        "{err}"
    );
}

#[test]
fn cifar_several_files_concatenate_and_missing_one_is_reported() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "data_batch_1.bin", &cifar_records(3));
    write(dir.path(), "data_batch_2.bin", &cifar_records(2));
    let d = load(
        DatasetKind::Cifar10,
        dir.path(),
        Split::Train,
        &LoadOptions::default(),
    );
    assert_eq!(d.unwrap().len(), 5);
    let err = read_cifar10_files(&[dir.path().join("data_batch_3.bin")]).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
}

#[test]
fn bad_text() {
    let err = parse_text(b"", "input.txt").unwrap_err();
    assert_eq!(err.to_string(), "input.txt: text is empty");
    let dir = TempDir::new().unwrap();
    write(dir.path(), "input.txt", b"");
    let err = load(
        DatasetKind::TinyShakespeare,
        dir.path(),
        Split::Train,
        &LoadOptions::default(),
    );
    assert!(matches!(err, Err(DataError::EmptyText { .. })), "{err:?}");

    let err = parse_text(b"ab\xffc", "bad.txt").unwrap_err();
    assert!(
        matches!(err, DataError::InvalidUtf8 { offset: 2, .. }),
        "{err:?}"
    );
    assert!(CharVocab::from_text("").is_err());

    for block_size in [0, 5, 6] {
        let err = TextDataset::from_text("hello", block_size).unwrap_err();
        assert!(
            matches!(err, DataError::BlockSize { text_len: 5, .. }),
            "{err:?}"
        );
    }
    let d = TextDataset::from_text("hello", 4).unwrap();
    assert_eq!(d.len(), 1);
    let vocab = d.vocab();
    assert!(matches!(
        vocab.encode("hex"),
        Err(DataError::UnknownChar { ch: 'x' })
    ));
    assert!(matches!(
        vocab.decode(&[9]),
        Err(DataError::UnknownToken { .. })
    ));
}

#[test]
fn subsets_and_batches_out_of_range() {
    let shape = ImageShape {
        channels: 1,
        height: 2,
        width: 2,
    };
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    let d = ImageDataset::new(vec![0; 80], labels, shape, 10).unwrap();

    let err = d.subset(&Subset::First(21)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "subset of 21 examples requested but the data set holds only 20"
    );
    let err = d
        .subset(&Subset::ClassBalanced { n: 50, seed: 0 })
        .unwrap_err();
    assert!(matches!(
        err,
        DataError::SubsetTooLarge {
            requested: 50,
            available: 20
        }
    ));
    let mut skewed: Vec<u8> = d.labels().to_vec();
    skewed[19] = 0; // class 9 keeps a single example
    let skewed = ImageDataset::new(vec![0; 80], skewed, shape, 10).unwrap();
    let err = skewed
        .subset(&Subset::ClassBalanced { n: 20, seed: 0 })
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ClassTooSmall {
                class: 9,
                requested: 2,
                available: 1
            }
        ),
        "{err:?}"
    );
    let err = d.subset(&Subset::ClassBalancedFirst(0)).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument(_)), "{err:?}");

    let text = TextDataset::from_text("abcdefghij", 3).unwrap();
    assert!(text
        .subset(&Subset::ClassBalanced { n: 2, seed: 0 })
        .is_err());
    assert!(matches!(
        text.subset(&Subset::First(4)),
        Err(DataError::SubsetTooLarge {
            requested: 4,
            available: 3
        })
    ));

    for batch_size in [0, 21] {
        let err = BatchSampler::new(20, batch_size, 0).unwrap_err();
        assert!(
            matches!(err, DataError::BatchSize { len: 20, .. }),
            "{err:?}"
        );
        assert!(d.sampler(batch_size, 0).is_err());
    }
    assert!(ImageDataset::new(vec![0; 79], vec![0; 20], shape, 10).is_err());
    assert!(ImageDataset::new(vec![0; 4], vec![10], shape, 10).is_err());
}
