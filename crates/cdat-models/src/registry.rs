//! Run-time model selection by name.

use core::fmt;
use core::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{backend::Backend, Int, Tensor};

use crate::{
    CharTransformer, CharTransformerConfig, Classifier, Mixer, MixerConfig, Mlp, MlpConfig, ResNet,
    ResNetConfig, Vit, VitConfig,
};

/// The model names accepted by [`ModelKind::from_str`], in [`ModelKind::ALL`] order.
pub const MODEL_NAMES: [&str; 7] = [
    "mlp",
    "resnet8",
    "resnet20",
    "resnet34",
    "mixer",
    "vit",
    "char-transformer",
];

/// A model family/size that can be selected by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// [`Mlp`] (`"mlp"`).
    Mlp,
    /// [`ResNet`] with the ResNet-8 layout (`"resnet8"`).
    ResNet8,
    /// [`ResNet`] with the ResNet-20 layout (`"resnet20"`).
    ResNet20,
    /// [`ResNet`] with the ResNet-34 layout (`"resnet34"`).
    ResNet34,
    /// [`Mixer`] (`"mixer"`).
    Mixer,
    /// [`Vit`] (`"vit"`).
    Vit,
    /// [`CharTransformer`] (`"char-transformer"`).
    CharTransformer,
}

impl ModelKind {
    /// All kinds, in the order of [`MODEL_NAMES`].
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Mlp,
        ModelKind::ResNet8,
        ModelKind::ResNet20,
        ModelKind::ResNet34,
        ModelKind::Mixer,
        ModelKind::Vit,
        ModelKind::CharTransformer,
    ];

    /// The name accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        MODEL_NAMES[i]
    }

    /// What the model consumes.
    pub fn task(self) -> ModelTask {
        match self {
            ModelKind::CharTransformer => ModelTask::LanguageModeling,
            _ => ModelTask::ImageClassification,
        }
    }

    /// The default configuration of this kind adapted to `data` (input shape, classes or
    /// vocabulary). Fails if the model cannot consume `data` (an image model on text or the
    /// language model on images).
    pub fn config(self, data: &DataSpec) -> Result<ModelConfig, ModelConfigError> {
        match (self, *data) {
            (ModelKind::CharTransformer, DataSpec::Text { vocab_size }) => {
                Ok(ModelConfig::CharTransformer(
                    CharTransformerConfig::new().with_vocab_size(vocab_size),
                ))
            }
            (ModelKind::CharTransformer, DataSpec::Image { .. }) | (_, DataSpec::Text { .. }) => {
                Err(ModelConfigError::Incompatible {
                    model: self.name(),
                    data: *data,
                })
            }
            (
                kind,
                DataSpec::Image {
                    channels,
                    height,
                    width,
                    num_classes,
                },
            ) => {
                let square = (height == width).then_some(height);
                Ok(match kind {
                    ModelKind::Mlp => ModelConfig::Mlp(
                        MlpConfig::new()
                            .with_d_input(channels * height * width)
                            .with_num_classes(num_classes),
                    ),
                    ModelKind::ResNet8 | ModelKind::ResNet20 | ModelKind::ResNet34 => {
                        let base = match kind {
                            ModelKind::ResNet8 => ResNetConfig::resnet8(),
                            ModelKind::ResNet20 => ResNetConfig::resnet20(),
                            _ => ResNetConfig::resnet34(),
                        };
                        ModelConfig::ResNet(
                            base.with_in_channels(channels)
                                .with_num_classes(num_classes),
                        )
                    }
                    ModelKind::Mixer => {
                        let size = square.ok_or(ModelConfigError::NonSquare { data: *data })?;
                        ModelConfig::Mixer(
                            MixerConfig::new()
                                .with_in_channels(channels)
                                .with_image_size(size)
                                .with_patch_size(default_patch(size))
                                .with_num_classes(num_classes),
                        )
                    }
                    ModelKind::Vit => {
                        let size = square.ok_or(ModelConfigError::NonSquare { data: *data })?;
                        ModelConfig::Vit(
                            VitConfig::new()
                                .with_in_channels(channels)
                                .with_image_size(size)
                                .with_patch_size(default_patch(size))
                                .with_num_classes(num_classes),
                        )
                    }
                    ModelKind::CharTransformer => unreachable!("handled above"),
                })
            }
        }
    }
}

/// Patch size 4 when it divides the image side (32 → 8x8 patches, 28 → 7x7), else the largest
/// divisor not above 4.
fn default_patch(size: usize) -> usize {
    (1..=4).rev().find(|p| size.is_multiple_of(*p)).unwrap_or(1)
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = UnknownModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        MODEL_NAMES
            .iter()
            .position(|name| *name == lower)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| UnknownModelError {
                name: s.to_string(),
            })
    }
}

/// Error for a model name that is not one of [`MODEL_NAMES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownModelError {
    /// The name that was given.
    pub name: String,
}

impl fmt::Display for UnknownModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown model `{}`; valid models: {}",
            self.name,
            MODEL_NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownModelError {}

/// Error building a [`ModelConfig`] from a name and a [`DataSpec`].
#[derive(Clone, Debug, PartialEq)]
pub enum ModelConfigError {
    /// The name is not a known model.
    Unknown(UnknownModelError),
    /// The model cannot consume this kind of data.
    Incompatible {
        /// Model name.
        model: &'static str,
        /// The data description.
        data: DataSpec,
    },
    /// Patch-based models need square images.
    NonSquare {
        /// The data description.
        data: DataSpec,
    },
}

impl fmt::Display for ModelConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelConfigError::Unknown(e) => e.fmt(f),
            ModelConfigError::Incompatible { model, data } => {
                write!(f, "model `{model}` cannot be trained on {data:?}")
            }
            ModelConfigError::NonSquare { data } => {
                write!(f, "patch-based models need square images, got {data:?}")
            }
        }
    }
}

impl std::error::Error for ModelConfigError {}

impl From<UnknownModelError> for ModelConfigError {
    fn from(e: UnknownModelError) -> Self {
        ModelConfigError::Unknown(e)
    }
}

/// Shape of the data a model is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// Images `[N, channels, height, width]` with `num_classes` labels.
    Image {
        /// Number of image channels.
        channels: usize,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Number of classes.
        num_classes: usize,
    },
    /// Token sequences over a vocabulary.
    Text {
        /// Vocabulary size.
        vocab_size: usize,
    },
}

impl DataSpec {
    /// MNIST: 1x28x28, 10 classes.
    pub fn mnist() -> Self {
        DataSpec::Image {
            channels: 1,
            height: 28,
            width: 28,
            num_classes: 10,
        }
    }

    /// CIFAR-10: 3x32x32, 10 classes.
    pub fn cifar10() -> Self {
        DataSpec::Image {
            channels: 3,
            height: 32,
            width: 32,
            num_classes: 10,
        }
    }

    /// Tiny Shakespeare characters: vocabulary of 65.
    pub fn tiny_shakespeare() -> Self {
        DataSpec::Text { vocab_size: 65 }
    }
}

/// What a model consumes and produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelTask {
    /// Images `[N, C, H, W]` → class logits `[N, K]`.
    ImageClassification,
    /// Token ids `[N, T]` → next-token logits `[N, T, V]`.
    LanguageModeling,
}

/// Configuration of any model in this crate (serializable; `Display` prints JSON).
#[derive(Config, Debug)]
pub enum ModelConfig {
    /// An [`Mlp`].
    Mlp(MlpConfig),
    /// A [`ResNet`].
    ResNet(ResNetConfig),
    /// A [`Mixer`].
    Mixer(MixerConfig),
    /// A [`Vit`].
    Vit(VitConfig),
    /// A [`CharTransformer`].
    CharTransformer(CharTransformerConfig),
}

impl ModelConfig {
    /// Default configuration of the model called `name` (one of [`MODEL_NAMES`]) for `data`.
    ///
    /// An unknown name yields an error listing the valid names.
    pub fn from_name(name: &str, data: &DataSpec) -> Result<Self, ModelConfigError> {
        let kind: ModelKind = name.parse()?;
        kind.config(data)
    }

    /// What the configured model consumes.
    pub fn task(&self) -> ModelTask {
        match self {
            ModelConfig::CharTransformer(_) => ModelTask::LanguageModeling,
            _ => ModelTask::ImageClassification,
        }
    }

    /// Initializes the configured model on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> AnyModel<B> {
        match self {
            ModelConfig::Mlp(c) => AnyModel::Mlp(c.init(device)),
            ModelConfig::ResNet(c) => AnyModel::ResNet(c.init(device)),
            ModelConfig::Mixer(c) => AnyModel::Mixer(c.init(device)),
            ModelConfig::Vit(c) => AnyModel::Vit(c.init(device)),
            ModelConfig::CharTransformer(c) => AnyModel::CharTransformer(c.init(device)),
        }
    }
}

/// Any model of this crate, as one [`Module`] (so optimizers and the curvature code can treat
/// it uniformly).
#[derive(Module, Debug)]
pub enum AnyModel<B: Backend> {
    /// An [`Mlp`].
    Mlp(Mlp<B>),
    /// A [`ResNet`].
    ResNet(ResNet<B>),
    /// A [`Mixer`].
    Mixer(Mixer<B>),
    /// A [`Vit`].
    Vit(Vit<B>),
    /// A [`CharTransformer`].
    CharTransformer(CharTransformer<B>),
}

impl<B: Backend> AnyModel<B> {
    /// What the model consumes.
    pub fn task(&self) -> ModelTask {
        match self {
            AnyModel::CharTransformer(_) => ModelTask::LanguageModeling,
            _ => ModelTask::ImageClassification,
        }
    }

    /// Class logits `[N, K]` for images `[N, C, H, W]`, or `None` for a language model.
    pub fn try_image_logits(&self, images: Tensor<B, 4>) -> Option<Tensor<B, 2>> {
        match self {
            AnyModel::Mlp(m) => Some(m.forward(images)),
            AnyModel::ResNet(m) => Some(m.forward(images)),
            AnyModel::Mixer(m) => Some(m.forward(images)),
            AnyModel::Vit(m) => Some(m.forward(images)),
            AnyModel::CharTransformer(_) => None,
        }
    }

    /// Next-token logits `[N, T, V]` for token ids `[N, T]`, or `None` for an image model.
    pub fn try_sequence_logits(&self, tokens: Tensor<B, 2, Int>) -> Option<Tensor<B, 3>> {
        match self {
            AnyModel::CharTransformer(m) => Some(m.forward(tokens)),
            _ => None,
        }
    }

    /// Next-token logits `[N, T, V]` for token ids `[N, T]`.
    ///
    /// # Panics
    /// If the model is an image model.
    pub fn sequence_logits(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        self.try_sequence_logits(tokens)
            .expect("sequence_logits called on an image model")
    }
}

/// # Panics
/// [`Classifier::logits`] panics for [`AnyModel::CharTransformer`]; check
/// [`AnyModel::task`] or use [`AnyModel::try_image_logits`].
impl<B: Backend> Classifier<B> for AnyModel<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.try_image_logits(images)
            .expect("Classifier::logits called on the char-transformer (a language model)")
    }
}
