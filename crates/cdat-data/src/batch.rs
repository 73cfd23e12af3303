//! Tensors on a device: full batches and seeded mini-batch iteration.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};
use crate::image::ImageDataset;
use crate::text::TextDataset;

/// Images `[N, C, H, W]` (normalized floats) and class labels `[N]`.
#[derive(Debug, Clone)]
pub struct ImageBatch<B: Backend> {
    /// Images, NCHW: `[N, 1, 28, 28]` for MNIST, `[N, 3, 32, 32]` for CIFAR-10.
    pub images: Tensor<B, 4>,
    /// Class labels, `[N]`.
    pub labels: Tensor<B, 1, Int>,
}

/// Character blocks `[N, block_size]` and their next-character targets `[N, block_size]`.
#[derive(Debug, Clone)]
pub struct TextBatch<B: Backend> {
    /// Input token indices.
    pub inputs: Tensor<B, 2, Int>,
    /// Target token indices (inputs shifted by one character).
    pub targets: Tensor<B, 2, Int>,
}

/// A data set that can gather examples into a batch of tensors.
pub trait BatchSource {
    /// The batch type on backend `B`.
    type Batch<B: Backend>;

    /// Number of examples.
    fn num_examples(&self) -> usize;

    /// The examples at `indices`, in that order, as tensors on `device`.
    ///
    /// # Panics
    /// If an index is out of range.
    fn gather<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Self::Batch<B>;
}

impl BatchSource for ImageDataset {
    type Batch<B: Backend> = ImageBatch<B>;

    fn num_examples(&self) -> usize {
        self.len()
    }

    fn gather<B: Backend>(&self, indices: &[usize], device: &B::Device) -> ImageBatch<B> {
        let s = self.shape();
        let images = TensorData::new(
            self.to_f32(indices),
            [indices.len(), s.channels, s.height, s.width],
        );
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels()[i] as i64).collect();
        ImageBatch {
            images: Tensor::from_data(images, device),
            labels: Tensor::from_data(TensorData::new(labels, [indices.len()]), device),
        }
    }
}

impl BatchSource for TextDataset {
    type Batch<B: Backend> = TextBatch<B>;

    fn num_examples(&self) -> usize {
        self.len()
    }

    fn gather<B: Backend>(&self, indices: &[usize], device: &B::Device) -> TextBatch<B> {
        let shape = [indices.len(), self.block_size()];
        let mut inputs = Vec::with_capacity(shape[0] * shape[1]);
        let mut targets = Vec::with_capacity(shape[0] * shape[1]);
        for &i in indices {
            let (x, y) = self.block(i);
            inputs.extend(x.iter().map(|&t| t as i64));
            targets.extend(y.iter().map(|&t| t as i64));
        }
        TextBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, shape), device),
        }
    }
}

/// Seeded shuffling into fixed-size batches; the last partial batch of an epoch is dropped.
///
/// The order of epoch `e` depends only on `(seed, e)`: a ChaCha8 generator seeded with
/// `seed` on stream `e`. So every epoch is shuffled differently, and a run is reproducible
/// (also when resumed at any epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSampler {
    len: usize,
    batch_size: usize,
    seed: u64,
}

impl BatchSampler {
    /// A sampler over `len` examples; requires `1 <= batch_size <= len`.
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 || batch_size > len {
            return Err(DataError::BatchSize { batch_size, len });
        }
        Ok(Self {
            len,
            batch_size,
            seed,
        })
    }

    /// Examples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Full batches per epoch (`len / batch_size`).
    pub fn batches_per_epoch(&self) -> usize {
        self.len / self.batch_size
    }

    /// The shuffled order of all examples in epoch `epoch`.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(epoch);
        let mut order: Vec<usize> = (0..self.len).collect();
        order.shuffle(&mut rng);
        order
    }

    /// The batches of epoch `epoch`, as index lists.
    pub fn epoch(&self, epoch: u64) -> EpochBatches {
        EpochBatches {
            order: self.epoch_order(epoch),
            batch_size: self.batch_size,
            next: 0,
        }
    }
}

/// Iterator over the index lists of one epoch (full batches only).
#[derive(Debug, Clone)]
pub struct EpochBatches {
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl Iterator for EpochBatches {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let end = self.next + self.batch_size;
        if end > self.order.len() {
            return None;
        }
        let batch = self.order[self.next..end].to_vec();
        self.next = end;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next) / self.batch_size;
        (left, Some(left))
    }
}

impl ExactSizeIterator for EpochBatches {}

/// Iterator over the tensor batches of one epoch of a data set.
pub struct MiniBatches<'a, D: BatchSource, B: Backend> {
    data: &'a D,
    batches: EpochBatches,
    device: B::Device,
}

impl<'a, D: BatchSource, B: Backend> MiniBatches<'a, D, B> {
    /// The batches of epoch `epoch` of `data`, drawn by `sampler`.
    ///
    /// Errors if the sampler was made for a different number of examples.
    pub fn new(
        data: &'a D,
        sampler: &BatchSampler,
        epoch: u64,
        device: &B::Device,
    ) -> Result<Self> {
        if sampler.len != data.num_examples() {
            return Err(DataError::InvalidArgument(format!(
                "batch sampler made for {} examples used on a data set of {}",
                sampler.len,
                data.num_examples()
            )));
        }
        Ok(Self {
            data,
            batches: sampler.epoch(epoch),
            device: device.clone(),
        })
    }
}

impl<D: BatchSource, B: Backend> Iterator for MiniBatches<'_, D, B> {
    type Item = D::Batch<B>;

    fn next(&mut self) -> Option<Self::Item> {
        let indices = self.batches.next()?;
        Some(self.data.gather(&indices, &self.device))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.batches.size_hint()
    }
}

impl<D: BatchSource, B: Backend> ExactSizeIterator for MiniBatches<'_, D, B> {}

macro_rules! tensor_methods {
    ($ty:ty, $batch:ident) => {
        impl $ty {
            /// The examples at `indices`, in that order, as tensors on `device`.
            ///
            /// # Panics
            /// If an index is out of range.
            pub fn batch<B: Backend>(&self, indices: &[usize], device: &B::Device) -> $batch<B> {
                self.gather(indices, device)
            }

            /// The whole data set as one batch on `device` (full-batch training).
            pub fn full_batch<B: Backend>(&self, device: &B::Device) -> $batch<B> {
                let all: Vec<usize> = (0..self.len()).collect();
                self.gather(&all, device)
            }

            /// A seeded sampler over this data set; errors unless `1 <= batch_size <= len`.
            pub fn sampler(&self, batch_size: usize, seed: u64) -> Result<BatchSampler> {
                BatchSampler::new(self.len(), batch_size, seed)
            }

            /// The mini-batches of epoch `epoch`: shuffled with `(seed, epoch)`, last partial
            /// batch dropped. Errors unless `1 <= batch_size <= len`.
            pub fn mini_batches<B: Backend>(
                &self,
                batch_size: usize,
                seed: u64,
                epoch: u64,
                device: &B::Device,
            ) -> Result<MiniBatches<'_, Self, B>> {
                MiniBatches::new(self, &self.sampler(batch_size, seed)?, epoch, device)
            }
        }
    };
}

tensor_methods!(ImageDataset, ImageBatch);
tensor_methods!(TextDataset, TextBatch);
