//! Property tests: random and mutated bytes never make a parser panic, and no parser
//! allocates more than a small multiple of its input (a lying header cannot trigger a
//! big allocation). A tracking allocator records the largest single allocation request
//! made by the current thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cdat_data::idx::gzip_bytes;
use cdat_data::{parse_cifar10, parse_idx_images, parse_idx_labels, parse_text, TextDataset};
use common::{cifar_records, idx_images, idx_labels};
use proptest::prelude::*;

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Largest allocation made while running `f`.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|m| m.set(0));
    f();
    LARGEST.with(|m| m.get())
}

/// Allowed allocation for parsing `input`: buffers grow by doubling up to the data
/// actually present; gzip may inflate up to ~1032x and needs ~100 KiB of decoder state.
fn budget(input: &[u8]) -> usize {
    let expansion = if cdat_data::idx::is_gzip(input) {
        1032
    } else {
        1
    };
    2 * expansion * input.len() + 256 * 1024
}

/// Runs every parser on `bytes` and checks the allocation bound and result invariants.
fn check_all(bytes: &[u8]) {
    let used = largest_allocation(|| {
        if let Ok(img) = parse_idx_images(bytes, "fuzz") {
            assert_eq!(img.pixels.len(), img.count * img.rows * img.cols);
        }
        if let Ok(labels) = parse_idx_labels(bytes, "fuzz") {
            assert!(labels.iter().all(|&l| l <= 9));
        }
        if let Ok(rec) = parse_cifar10(bytes, "fuzz") {
            assert_eq!(rec.pixels.len(), rec.len() * 3072);
        }
        if let Ok(text) = parse_text(bytes, "fuzz") {
            let _ = TextDataset::from_text(&text, 1 + bytes.len() % 7);
        }
    });
    assert!(
        used <= budget(bytes),
        "allocated {used} bytes for {} input bytes",
        bytes.len()
    );
}

/// Applies byte overwrites (positions taken modulo the length) and an optional cut.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if !bytes.is_empty() {
        for &(pos, value) in edits {
            let n = bytes.len();
            bytes[pos % n] = value;
        }
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 0..6)
}

#[test]
fn allocation_tracking_sees_a_header_sized_allocation() {
    let used = largest_allocation(|| {
        let v: Vec<u8> = Vec::with_capacity(1 << 24);
        std::hint::black_box(v);
    });
    assert!(used >= 1 << 24, "{used}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..8192)) {
        check_all(&bytes);
        check_all(&gzip_bytes(&bytes));
    }

    #[test]
    fn random_bytes_behind_valid_magics(
        magic in prop::sample::select(vec![0x0803u32, 0x0801]),
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = magic.to_be_bytes().to_vec();
        bytes.extend(tail);
        check_all(&bytes);
        check_all(&gzip_bytes(&bytes));
    }

    #[test]
    fn mutated_idx(
        labels in any::<bool>(),
        edits in edits(),
        cut in prop::option::of(any::<usize>()),
        gz_after in any::<bool>(),
    ) {
        let valid = if labels { idx_labels(37) } else { idx_images(3, 5, 7) };
        // Mutate the raw file (then maybe gzip it), or mutate the gzipped stream itself.
        let bytes = if gz_after {
            gzip_bytes(&mutate(valid, &edits, cut))
        } else {
            mutate(gzip_bytes(&valid), &edits, cut)
        };
        check_all(&bytes);
        check_all(&mutate(if labels { idx_labels(37) } else { idx_images(3, 5, 7) }, &edits, cut));
    }

    #[test]
    fn lying_idx_header(
        count in any::<u32>(), rows in any::<u32>(), cols in any::<u32>(), gz in any::<bool>(),
    ) {
        let mut bytes = idx_images(2, 4, 4);
        bytes[4..8].copy_from_slice(&count.to_be_bytes());
        bytes[8..12].copy_from_slice(&rows.to_be_bytes());
        bytes[12..16].copy_from_slice(&cols.to_be_bytes());
        let bytes = if gz { gzip_bytes(&bytes) } else { bytes };
        let ok = parse_idx_images(&bytes, "h").is_ok();
        prop_assert_eq!(ok, count as u128 * rows as u128 * cols as u128 == 32);
        check_all(&bytes);
    }

    #[test]
    fn mutated_cifar(edits in edits(), cut in prop::option::of(any::<usize>()), n in 1usize..4) {
        let bytes = mutate(cifar_records(n), &edits, cut);
        check_all(&bytes);
        if let Ok(rec) = parse_cifar10(&bytes, "c") {
            prop_assert_eq!(rec.len() * 3073, bytes.len());
        }
    }
}
