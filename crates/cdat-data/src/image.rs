//! In-memory image classification data (MNIST, CIFAR-10) and its normalization.

use crate::error::{DataError, Result};

/// Shape of one image, channels first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Channels (1 for MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Pixel values per image (`channels * height * width`).
    pub fn numel(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Pixels per channel (`height * width`).
    pub fn plane(&self) -> usize {
        self.height * self.width
    }
}

/// Per-channel mean and standard deviation of pixels scaled to `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Population standard deviation per channel (at least `1e-6`).
    pub std: Vec<f32>,
}

/// How pixel bytes become floats.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Normalization {
    /// `x / 255`, in `[0, 1]` (the default).
    #[default]
    UnitRange,
    /// `(x / 255 - mean[c]) / std[c]`, with statistics usually computed on the training subset.
    Standardize(ChannelStats),
}

/// Images stored as bytes in NCHW order, with labels and a normalization applied when
/// they are turned into floats or tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    shape: ImageShape,
    num_classes: usize,
    normalization: Normalization,
}

impl ImageDataset {
    /// Wraps pixel bytes (`labels.len() * shape.numel()` of them, NCHW) and labels
    /// (each `< num_classes`), normalized to `[0, 1]` by default.
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<u8>,
        shape: ImageShape,
        num_classes: usize,
    ) -> Result<Self> {
        let expected = labels.len().checked_mul(shape.numel());
        if expected != Some(pixels.len()) {
            return Err(DataError::InvalidArgument(format!(
                "{} pixel bytes do not make {} images of {}x{}x{}",
                pixels.len(),
                labels.len(),
                shape.channels,
                shape.height,
                shape.width
            )));
        }
        if let Some(index) = labels.iter().position(|&l| l as usize >= num_classes) {
            return Err(DataError::LabelOutOfRange {
                file: "<in-memory data set>".to_string(),
                index,
                label: labels[index],
                num_classes,
            });
        }
        Ok(Self {
            pixels,
            labels,
            shape,
            num_classes,
            normalization: Normalization::UnitRange,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shape of one image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixel bytes, NCHW.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixel bytes of image `i` (CHW).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.shape.numel();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The normalization applied by [`Self::to_f32`] and the tensor methods.
    pub fn normalization(&self) -> &Normalization {
        &self.normalization
    }

    /// Sets the normalization; standardization statistics must have one entry per channel.
    pub fn with_normalization(mut self, normalization: Normalization) -> Result<Self> {
        if let Normalization::Standardize(stats) = &normalization {
            let c = self.shape.channels;
            if stats.mean.len() != c || stats.std.len() != c {
                return Err(DataError::InvalidArgument(format!(
                    "standardization statistics have {} means and {} stds for {c} channels",
                    stats.mean.len(),
                    stats.std.len()
                )));
            }
            if stats.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(DataError::InvalidArgument(format!(
                    "standardization stds must be positive and finite, got {:?}",
                    stats.std
                )));
            }
        }
        self.normalization = normalization;
        Ok(self)
    }

    /// Per-channel mean and standard deviation of the pixels scaled to `[0, 1]`.
    ///
    /// # Panics
    /// If the data set is empty.
    pub fn channel_stats(&self) -> ChannelStats {
        assert!(!self.is_empty(), "channel statistics of an empty data set");
        let (c, plane) = (self.shape.channels, self.shape.plane());
        let mut sum = vec![0u64; c];
        let mut sum_sq = vec![0u64; c];
        for image in self.pixels.chunks_exact(self.shape.numel()) {
            for (ch, values) in image.chunks_exact(plane).enumerate() {
                for &v in values {
                    sum[ch] += v as u64;
                    sum_sq[ch] += (v as u64) * (v as u64);
                }
            }
        }
        let n = (self.len() * plane) as f64;
        let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / n / 255.0).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| {
                ((s as f64 / n / (255.0 * 255.0) - m * m).max(0.0).sqrt() as f32).max(1e-6)
            })
            .collect();
        ChannelStats {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
        }
    }

    /// The images at `indices`, normalized, concatenated in NCHW order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn to_f32(&self, indices: &[usize]) -> Vec<f32> {
        let plane = self.shape.plane();
        let mut out = Vec::with_capacity(indices.len() * self.shape.numel());
        for &i in indices {
            let image = self.image(i);
            match &self.normalization {
                Normalization::UnitRange => out.extend(image.iter().map(|&v| v as f32 / 255.0)),
                Normalization::Standardize(s) => {
                    for ((values, m), sd) in image.chunks_exact(plane).zip(&s.mean).zip(&s.std) {
                        out.extend(values.iter().map(|&v| (v as f32 / 255.0 - m) / sd));
                    }
                }
            }
        }
        out
    }

    /// Keeps the images at `indices`, in that order (used by subsets).
    pub(crate) fn select(&self, indices: &[usize]) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * self.shape.numel());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Self {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
            num_classes: self.num_classes,
            normalization: self.normalization.clone(),
        }
    }
}
