//! MNIST in the IDX format, raw or gzipped.
//!
//! Layout (all integers big-endian u32):
//! - images: magic 2051, count, rows, cols, then `count * rows * cols` pixel bytes;
//! - labels: magic 2049, count, then `count` label bytes.
//!
//! Gzip is detected by its magic bytes `1f 8b`, not by the file name. The size the
//! header declares is checked against the real (decompressed) length before anything
//! sized by the header is allocated: buffers only ever grow with data actually present.
//!
//! Decompression is bounded by the header: at most the declared size plus one byte is ever
//! decompressed (a stream longer than its header says is rejected after that byte). A header
//! that declares more than the compressed file can possibly hold (deflate expands at most
//! [`MAX_DEFLATE_RATIO`]:1) or more than [`MAX_DECOMPRESSED_BYTES`] is rejected before
//! anything is decompressed, so a small file claiming 10⁹ images fails at once instead of
//! inflating gigabytes first.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};
use crate::files::read_file;

/// Magic number of an IDX file of unsigned-byte 3-d arrays (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte 1-d arrays (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of MNIST classes; labels must be `0..=9`.
pub const MNIST_CLASSES: usize = 10;

/// The most bytes a gzipped IDX file may decompress to (1 GiB; MNIST's largest file is 47 MB):
/// a header declaring more is rejected before decompressing.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Deflate's largest possible expansion (each byte of a deflate stream decodes to at most
/// 1032 bytes, the format's limit); a gzipped file of `n` bytes holds at most about
/// `1032 · n` bytes.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// The content of an IDX images file: `count` images of `rows x cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image (28 for MNIST).
    pub rows: usize,
    /// Columns per image (28 for MNIST).
    pub cols: usize,
    /// `count * rows * cols` pixel bytes, image after image.
    pub pixels: Vec<u8>,
}

/// True when `bytes` starts with the gzip magic bytes `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Parses an IDX images file (raw or gzipped) held in memory; `file` names it in errors.
pub fn parse_idx_images(bytes: &[u8], file: &str) -> Result<IdxImages> {
    let gz = is_gzip(bytes);
    let mut reader = open(bytes, gz);
    let mut header = [0u8; IMAGES_HEADER];
    // Check the magic first: a wrong file type is a clearer message than a short header.
    read_header(&mut reader, &mut header, 0..4, file, gz)?;
    check_magic(be_u32(&header, 0), IDX_IMAGES_MAGIC, "images", file)?;
    read_header(&mut reader, &mut header, 4..IMAGES_HEADER, file, gz)?;
    let [count, rows, cols] = [4, 8, 12].map(|at| be_u32(&header, at) as u64);
    if count == 0 || rows == 0 || cols == 0 {
        return Err(invalid(
            file,
            format!("{count} images of {rows}x{cols} pixels (every dimension must be positive)"),
        ));
    }
    let payload = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| invalid(file, format!("{count} x {rows} x {cols} bytes overflows")))?;
    if gz {
        check_gzip_claim(
            bytes.len(),
            IMAGES_HEADER as u64 + payload,
            &format!("{count} images of {rows}x{cols} pixels"),
            file,
        )?;
    }
    let pixels = read_payload(reader, IMAGES_HEADER, payload, file, gz, "IDX images file")?;
    Ok(IdxImages {
        count: to_usize(count, file)?,
        rows: to_usize(rows, file)?,
        cols: to_usize(cols, file)?,
        pixels,
    })
}

/// Parses an MNIST IDX labels file (raw or gzipped) held in memory; every label must be `0..=9`.
pub fn parse_idx_labels(bytes: &[u8], file: &str) -> Result<Vec<u8>> {
    let gz = is_gzip(bytes);
    let mut reader = open(bytes, gz);
    let mut header = [0u8; LABELS_HEADER];
    // Check the magic first: a wrong file type is a clearer message than a short header.
    read_header(&mut reader, &mut header, 0..4, file, gz)?;
    check_magic(be_u32(&header, 0), IDX_LABELS_MAGIC, "labels", file)?;
    read_header(&mut reader, &mut header, 4..LABELS_HEADER, file, gz)?;
    let count = be_u32(&header, 4) as u64;
    if count == 0 {
        return Err(invalid(file, "0 labels".to_string()));
    }
    if gz {
        check_gzip_claim(
            bytes.len(),
            LABELS_HEADER as u64 + count,
            &format!("{count} labels"),
            file,
        )?;
    }
    let labels = read_payload(reader, LABELS_HEADER, count, file, gz, "IDX labels file")?;
    if let Some(index) = labels.iter().position(|&l| l as usize >= MNIST_CLASSES) {
        return Err(DataError::LabelOutOfRange {
            file: file.to_string(),
            index,
            label: labels[index],
            num_classes: MNIST_CLASSES,
        });
    }
    Ok(labels)
}

/// Reads and parses an IDX images file (raw or gzipped) from disk.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    parse_idx_images(&read_file(path, "MNIST")?, &path.display().to_string())
}

/// Reads and parses an MNIST IDX labels file (raw or gzipped) from disk.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    parse_idx_labels(&read_file(path, "MNIST")?, &path.display().to_string())
}

/// Encodes images as an uncompressed IDX images file.
///
/// # Panics
/// If a dimension does not fit in a u32 or `pixels` has the wrong length.
pub fn encode_idx_images(images: &IdxImages) -> Vec<u8> {
    assert_eq!(
        images.pixels.len(),
        images.count * images.rows * images.cols
    );
    let mut out = Vec::with_capacity(IMAGES_HEADER + images.pixels.len());
    for v in [
        IDX_IMAGES_MAGIC as usize,
        images.count,
        images.rows,
        images.cols,
    ] {
        out.extend_from_slice(
            &u32::try_from(v)
                .expect("IDX field exceeds u32")
                .to_be_bytes(),
        );
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// Encodes labels as an uncompressed IDX labels file.
///
/// # Panics
/// If there are more than `u32::MAX` labels.
pub fn encode_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER + labels.len());
    out.extend_from_slice(&IDX_LABELS_MAGIC.to_be_bytes());
    let count = u32::try_from(labels.len()).expect("more than u32::MAX labels");
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Gzips `bytes` at the best compression level with a fixed header (no name, mtime 0),
/// so the output is reproducible byte for byte.
pub fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

fn open<'a>(bytes: &'a [u8], gz: bool) -> Box<dyn Read + 'a> {
    if gz {
        Box::new(GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    }
}

/// Rejects a gzipped file whose header declares `declared` decompressed bytes (`what`) that
/// `compressed` bytes of deflate cannot hold, or more than [`MAX_DECOMPRESSED_BYTES`].
fn check_gzip_claim(compressed: usize, declared: u64, what: &str, file: &str) -> Result<()> {
    // Gzip header and trailer, and the slack of deflate's block headers.
    let most = (compressed as u64)
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(4096);
    if declared > most {
        return Err(invalid(
            file,
            format!(
                "declares {what} ({declared} bytes uncompressed), but a gzip file of {compressed} \
                 bytes can hold at most {most} bytes (deflate expands at most \
                 {MAX_DEFLATE_RATIO}:1); the file is truncated or its header is wrong"
            ),
        ));
    }
    if declared > MAX_DECOMPRESSED_BYTES {
        return Err(invalid(
            file,
            format!(
                "declares {what} ({declared} bytes uncompressed), more than the {} MiB this \
                 loader decompresses per file",
                MAX_DECOMPRESSED_BYTES >> 20
            ),
        ));
    }
    Ok(())
}

fn be_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

fn invalid(file: &str, problem: String) -> DataError {
    DataError::InvalidHeader {
        file: file.to_string(),
        problem,
    }
}

fn to_usize(v: u64, file: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| invalid(file, format!("{v} does not fit in memory")))
}

fn check_magic(found: u32, expected: u32, what: &'static str, file: &str) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(DataError::BadMagic {
            file: file.to_string(),
            what,
            expected,
            found,
        })
    }
}

fn read_error(file: &str, gz: bool, source: std::io::Error) -> DataError {
    if gz {
        DataError::Gzip {
            file: file.to_string(),
            source,
        }
    } else {
        DataError::InvalidArgument(format!("{file}: read failed: {source}"))
    }
}

/// Fills `buf[range]`, or reports how many header bytes were present.
fn read_header(
    r: &mut dyn Read,
    buf: &mut [u8],
    range: std::ops::Range<usize>,
    file: &str,
    gz: bool,
) -> Result<()> {
    let mut got = range.start;
    while got < range.end {
        match r.read(&mut buf[got..range.end]) {
            Ok(0) => {
                return Err(DataError::SizeMismatch {
                    file: file.to_string(),
                    what: "IDX header",
                    expected: buf.len() as u64,
                    found: got as u64,
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(file, gz, e)),
        }
    }
    Ok(())
}

/// Reads exactly `len` payload bytes and checks that nothing follows them.
///
/// At most `len + 1` bytes are ever buffered, and the buffer only grows with bytes
/// actually read, so a lying header cannot trigger a large allocation.
fn read_payload(
    r: Box<dyn Read + '_>,
    header: usize,
    len: u64,
    file: &str,
    gz: bool,
    what: &'static str,
) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut limited = r.take(len.saturating_add(1));
    limited
        .read_to_end(&mut data)
        .map_err(|e| read_error(file, gz, e))?;
    let mismatch = |found: u64| DataError::SizeMismatch {
        file: file.to_string(),
        what,
        expected: header as u64 + len,
        found: header as u64 + found,
    };
    if data.len() as u64 != len {
        return Err(mismatch(data.len() as u64));
    }
    // Reach the end of the stream: this also makes the gzip decoder verify its CRC.
    let mut rest = limited.into_inner();
    let mut probe = [0u8; 1];
    loop {
        match rest.read(&mut probe) {
            Ok(0) => return Ok(data),
            Ok(_) => return Err(mismatch(len + 1)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(file, gz, e)),
        }
    }
}
