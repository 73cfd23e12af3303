//! Data for a run: loading (backend-independent), batches on a backend, losses and evaluation.

use anyhow::Result;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use cdat_data::{DatasetKind, ImageDataset, LoadOptions, Subset, TextDataset};
use cdat_models::{AnyModel, Classifier, DataSpec, ModelConfig};

use crate::run::config::{LossKind, ModelSection, RunConfig};
use crate::run::error::UserError;

/// The training and test sets of a run.
#[derive(Clone, Debug)]
pub enum RunData {
    /// Image classification.
    Image {
        /// Training set.
        train: ImageDataset,
        /// Test set.
        test: ImageDataset,
    },
    /// Next-character prediction.
    Text {
        /// Training blocks.
        train: TextDataset,
        /// Test blocks.
        test: TextDataset,
    },
}

impl RunData {
    /// Loads the data named by the configuration; errors name the folder and flag.
    pub fn load(cfg: &RunConfig) -> Result<Self> {
        let kind: DatasetKind = cfg
            .data
            .dataset
            .parse()
            .map_err(|e| UserError::new(format!("--dataset / data.dataset: {e}")))?;
        let dir = cfg.data_dir()?;
        if !dir.is_dir() {
            return Err(UserError::new(format!(
                "data folder `{}` (--data-dir / data.dir) does not exist or is not a folder",
                dir.display()
            ))
            .into());
        }
        let is_text = kind == DatasetKind::TinyShakespeare;
        let subset = |n: Option<usize>| match n {
            None => Subset::All,
            Some(n) if is_text => Subset::First(n),
            Some(n) => Subset::ClassBalanced { n, seed: cfg.seed },
        };
        let options = LoadOptions {
            train_subset: subset(cfg.data.train_subset),
            test_subset: subset(cfg.data.test_subset),
            standardize: cfg.data.standardize,
            block_size: cfg.data.block_size,
        };
        let tt = cdat_data::load_train_test(kind, &dir, &options).map_err(|e| {
            UserError::new(format!(
                "loading {} from `{}` (--data-dir): {e}",
                kind.title(),
                dir.display()
            ))
        })?;
        Ok(if is_text {
            RunData::Text {
                train: tt.train.into_text()?,
                test: tt.test.into_text()?,
            }
        } else {
            RunData::Image {
                train: tt.train.into_image()?,
                test: tt.test.into_image()?,
            }
        })
    }

    /// Number of training examples (images or text blocks).
    pub fn train_len(&self) -> usize {
        match self {
            RunData::Image { train, .. } => train.len(),
            RunData::Text { train, .. } => train.len(),
        }
    }

    /// Number of test examples.
    pub fn test_len(&self) -> usize {
        match self {
            RunData::Image { test, .. } => test.len(),
            RunData::Text { test, .. } => test.len(),
        }
    }

    /// What a model must consume.
    pub fn spec(&self) -> DataSpec {
        match self {
            RunData::Image { train, .. } => {
                let s = train.shape();
                DataSpec::Image {
                    channels: s.channels,
                    height: s.height,
                    width: s.width,
                    num_classes: train.num_classes(),
                }
            }
            RunData::Text { train, .. } => DataSpec::Text {
                vocab_size: train.vocab().len(),
            },
        }
    }

    /// Number of classes (image data) or vocabulary size (text).
    pub fn num_outputs(&self) -> usize {
        match self.spec() {
            DataSpec::Image { num_classes, .. } => num_classes,
            DataSpec::Text { vocab_size } => vocab_size,
        }
    }

    /// The batch of the given training examples on `device`.
    pub fn train_batch<B: Backend>(
        &self,
        indices: Option<&[usize]>,
        device: &B::Device,
    ) -> Batch<B> {
        match self {
            RunData::Image { train, .. } => {
                let b = match indices {
                    Some(i) => train.batch::<B>(i, device),
                    None => train.full_batch::<B>(device),
                };
                Batch::Image {
                    images: b.images,
                    labels: b.labels,
                }
            }
            RunData::Text { train, .. } => {
                let b = match indices {
                    Some(i) => train.batch::<B>(i, device),
                    None => train.full_batch::<B>(device),
                };
                Batch::Text {
                    inputs: b.inputs,
                    targets: b.targets,
                }
            }
        }
    }
}

/// A batch on a backend.
#[derive(Clone, Debug)]
pub enum Batch<B: Backend> {
    /// Images and labels.
    Image {
        /// `[N, C, H, W]`.
        images: Tensor<B, 4>,
        /// `[N]`.
        labels: Tensor<B, 1, Int>,
    },
    /// Token blocks and next-token targets.
    Text {
        /// `[N, T]`.
        inputs: Tensor<B, 2, Int>,
        /// `[N, T]`.
        targets: Tensor<B, 2, Int>,
    },
}

/// The mean loss of `model` on `batch`, and (when `with_accuracy`) its accuracy.
pub fn loss_on<B: Backend>(
    model: &AnyModel<B>,
    batch: &Batch<B>,
    loss: LossKind,
    num_outputs: usize,
) -> Tensor<B, 1> {
    match batch {
        Batch::Image { images, labels } => {
            let logits = model.logits(images.clone());
            match loss {
                LossKind::CrossEntropy => cdat_models::cross_entropy(logits, labels.clone()),
                LossKind::Mse => cdat_models::mse_one_hot(logits, labels.clone(), num_outputs),
            }
        }
        Batch::Text { inputs, targets } => {
            let logits = model.sequence_logits(inputs.clone());
            cdat_models::sequence_cross_entropy(logits, targets.clone())
        }
    }
}

/// Loss and accuracy of a model over a whole data set, in chunks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
}

/// Evaluates `model` on the training (`test = false`) or test set, `chunk` examples at a time.
pub fn evaluate<B: Backend>(
    model: &AnyModel<B>,
    data: &RunData,
    test: bool,
    loss: LossKind,
    chunk: usize,
    device: &B::Device,
) -> Evaluation {
    use burn::tensor::ElementConversion;
    let n = if test {
        data.test_len()
    } else {
        data.train_len()
    };
    let num_outputs = data.num_outputs();
    let mut loss_sum = 0.0;
    let mut acc_sum = 0.0;
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let idx: Vec<usize> = (start..end).collect();
        let m = (end - start) as f64;
        let batch = match data {
            RunData::Image { train, test: te } => {
                let set = if test { te } else { train };
                let b = set.batch::<B>(&idx, device);
                Batch::Image {
                    images: b.images,
                    labels: b.labels,
                }
            }
            RunData::Text { train, test: te } => {
                let set = if test { te } else { train };
                let b = set.batch::<B>(&idx, device);
                Batch::Text {
                    inputs: b.inputs,
                    targets: b.targets,
                }
            }
        };
        let (l, a) = match &batch {
            Batch::Image { images, labels } => {
                let logits = model.logits(images.clone());
                let a = cdat_models::accuracy(logits.clone(), labels.clone());
                let l = match loss {
                    LossKind::CrossEntropy => cdat_models::cross_entropy(logits, labels.clone()),
                    LossKind::Mse => cdat_models::mse_one_hot(logits, labels.clone(), num_outputs),
                };
                (l, a)
            }
            Batch::Text { inputs, targets } => {
                let logits = model.sequence_logits(inputs.clone());
                let a = cdat_models::sequence_accuracy(logits.clone(), targets.clone());
                (
                    cdat_models::sequence_cross_entropy(logits, targets.clone()),
                    a,
                )
            }
        };
        loss_sum += l.into_scalar().elem::<f64>() * m;
        acc_sum += a * m;
        start = end;
    }
    let n = n.max(1) as f64;
    Evaluation {
        loss: loss_sum / n,
        accuracy: acc_sum / n,
    }
}

/// The model's full configuration: the default for its name and the data, with the fields of
/// `model.config` replaced. Unknown fields are errors naming the valid ones.
///
/// A model with a `block_size` (the language model) gets the data's block size unless
/// `model.config` sets it.
pub fn resolve_model_config(
    section: &ModelSection,
    spec: &DataSpec,
    data_block_size: usize,
) -> Result<ModelConfig> {
    let base = ModelConfig::from_name(&section.name, spec)
        .map_err(|e| UserError::new(format!("--model / model.name: {e}")))?;
    let mut json = serde_json::to_value(&base)?;
    let inner = json
        .as_object_mut()
        .and_then(|o| o.values_mut().next())
        .and_then(|v| v.as_object_mut())
        .ok_or_else(|| anyhow::anyhow!("unexpected model configuration layout"))?;
    if inner.contains_key("block_size") && !section.config.contains_key("block_size") {
        inner.insert(
            "block_size".into(),
            serde_json::Value::from(data_block_size),
        );
    }
    for (k, v) in &section.config {
        if !inner.contains_key(k) {
            let mut keys: Vec<&str> = inner.keys().map(String::as_str).collect();
            keys.sort();
            return Err(UserError::new(format!(
                "--model-set / model.config: model `{}` has no field `{k}` (fields: {})",
                section.name,
                keys.join(", ")
            ))
            .into());
        }
        inner.insert(k.clone(), serde_json::to_value(v)?);
    }
    let config: ModelConfig = serde_json::from_value(json).map_err(|e| {
        UserError::new(format!(
            "--model-set / model.config for model `{}`: {e}",
            section.name
        ))
    })?;
    // Values the model cannot be built or trained with (zero widths, heads that do not divide
    // the width, patches that do not tile the image, sizes that do not match the data) would
    // panic when the model is built or run: refuse them here, before any file is written.
    config
        .check(spec)
        .map_err(|e| UserError::new(format!("--model-set / model.config: {e}")))?;
    if let ModelConfig::CharTransformer(c) = &config {
        if c.block_size < data_block_size {
            return Err(UserError::new(format!(
                "--model-set / model.config: model `{}`, field `block_size`: is {}, shorter than \
                 the data's blocks of {data_block_size} characters (--block-size / \
                 data.block_size); make it at least {data_block_size}, or leave it out",
                section.name, c.block_size
            ))
            .into());
        }
    }
    Ok(config)
}
