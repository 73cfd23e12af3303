//! Gzipped IDX files whose header lies about their size are rejected without inflating (and
//! holding) more than the header allows. This test binary counts its heap allocations to check
//! the peak memory of each rejection.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cdat_data::idx::{MAX_DECOMPRESSED_BYTES, MAX_DEFLATE_RATIO};
use cdat_data::{parse_idx_images, parse_idx_labels, DataError};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests measure the process-wide peak: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// `f()`'s result, the bytes it held at its peak above what was allocated before, and its time.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let t = Instant::now();
    let out = f();
    let elapsed = t.elapsed();
    (out, PEAK.load(Ordering::SeqCst) - base, elapsed)
}

/// A gzip of `header` followed by `zeros` zero bytes, compressed in 1 MiB pieces (so the
/// uncompressed data is never held whole).
fn gzip_bomb(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(header).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(chunk.len());
        enc.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    enc.finish().unwrap()
}

fn images_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    [0x0803, count, rows, cols]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

const MIB: usize = 1 << 20;

#[test]
fn a_header_claiming_a_billion_images_fails_at_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The file: a header claiming 10⁹ MNIST images over a stream of zeros (256 MiB
    // here; the was 4.2 GB). It used to be inflated in full before the size check.
    let gz = gzip_bomb(&images_header(1_000_000_000, 28, 28), 256 * MIB);
    let (result, peak, elapsed) = measure(|| parse_idx_images(&gz, "bomb-images.gz"));
    let err = result.unwrap_err();
    eprintln!(
        "10^9-image header, {} KiB gzip of 256 MiB: rejected in {:.3} ms, peak {} KiB: {err}",
        gz.len() >> 10,
        elapsed.as_secs_f64() * 1e3,
        peak >> 10
    );
    assert!(matches!(err, DataError::InvalidHeader { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("bomb-images.gz") && msg.contains("1000000000 images"),
        "{msg}"
    );
    assert!(peak < MIB, "held {peak} bytes while rejecting the file");
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");

    // The same for labels.
    let mut header = 0x0801u32.to_be_bytes().to_vec();
    header.extend_from_slice(&u32::MAX.to_be_bytes());
    let gz = gzip_bomb(&header, 64 * MIB);
    let (result, peak, _) = measure(|| parse_idx_labels(&gz, "bomb-labels.gz"));
    let err = result.unwrap_err();
    assert!(matches!(err, DataError::InvalidHeader { .. }), "{err:?}");
    assert!(peak < MIB, "held {peak} bytes while rejecting the file");
}

#[test]
fn a_stream_longer_than_its_header_stops_right_after_the_declared_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 1,000 images declared (784,000 bytes), 256 MiB present.
    let gz = gzip_bomb(&images_header(1000, 28, 28), 256 * MIB);
    let (result, peak, elapsed) = measure(|| parse_idx_images(&gz, "long.gz"));
    let err = result.unwrap_err();
    eprintln!(
        "1,000-image header over 256 MiB: rejected in {:.3} ms, peak {} KiB: {err}",
        elapsed.as_secs_f64() * 1e3,
        peak >> 10
    );
    assert!(err.to_string().contains("trailing bytes"), "{err}");
    // The declared 784,000 bytes, their buffer's growth, and the decoder.
    assert!(peak < 4 * MIB, "held {peak} bytes");
}

#[test]
fn a_header_beyond_the_decompression_limit_is_refused_before_inflating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 2 GiB declared in a file big enough to hold it by the deflate bound: refused by the
    // limit, before decompressing.
    let rows = 1024u32;
    let count = u32::try_from((2 * MAX_DECOMPRESSED_BYTES) / (u64::from(rows) * 1024)).unwrap();
    let mut gz = gzip_bomb(&images_header(count, rows, 1024), 0);
    // Pad the compressed size (the padding is never read) so the deflate bound allows it.
    let needed = usize::try_from(2 * MAX_DECOMPRESSED_BYTES / MAX_DEFLATE_RATIO).unwrap();
    gz.resize(needed + 4096, 0);
    let (result, peak, _) = measure(|| parse_idx_images(&gz, "huge.gz"));
    let err = result.unwrap_err();
    assert!(
        err.to_string().contains("MiB this loader decompresses"),
        "{err}"
    );
    assert!(peak < MIB, "held {peak} bytes");
}
