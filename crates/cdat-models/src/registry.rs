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
    /// A field of the configuration has a value the model cannot be built or trained with
    /// (see [`ModelConfig::check`]).
    InvalidField {
        /// Model name.
        model: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
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
            ModelConfigError::InvalidField {
                model,
                field,
                problem,
            } => write!(f, "model `{model}`, field `{field}`: {problem}"),
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

    /// The name of the configured model family (`mlp`, `resnet`, `mixer`, `vit`,
    /// `char-transformer`).
    pub fn family(&self) -> &'static str {
        match self {
            ModelConfig::Mlp(_) => "mlp",
            ModelConfig::ResNet(_) => "resnet",
            ModelConfig::Mixer(_) => "mixer",
            ModelConfig::Vit(_) => "vit",
            ModelConfig::CharTransformer(_) => "char-transformer",
        }
    }

    /// Checks that the model can be built and trained on `data`: every width, depth and head
    /// count is usable (no zero-sized layer, heads divide the width, patches tile the image),
    /// and the fields that describe the data (input size, channels, image size, classes,
    /// vocabulary) match it. [`ModelConfig::init`] and the forward passes panic on
    /// configurations this rejects; call it before building a model from user input.
    ///
    /// The error names the first offending field and what is wrong with its value.
    pub fn check(&self, data: &DataSpec) -> Result<(), ModelConfigError> {
        let model = self.family();
        let bad = |field: &'static str, problem: String| ModelConfigError::InvalidField {
            model,
            field,
            problem,
        };
        let positive = |field: &'static str, v: usize| {
            if v == 0 {
                Err(bad(field, "must be at least 1, got 0".into()))
            } else {
                Ok(())
            }
        };
        // `what` describes the data's value: "the images have 3 channels".
        let equal = |field: &'static str, v: usize, want: usize, what: String| {
            if v == want {
                Ok(())
            } else {
                Err(bad(
                    field,
                    format!(
                        "is {v}, but {what} (it must be {want}; leave the field out: it is set \
                         from the data)"
                    ),
                ))
            }
        };
        let divides = |field: &'static str, v: usize, of_field: &str, of: usize| {
            if v > 0 && of.is_multiple_of(v) {
                Ok(())
            } else {
                let divisors: Vec<String> = (1..=of)
                    .filter(|d| of.is_multiple_of(*d))
                    .map(|d| d.to_string())
                    .collect();
                Err(bad(
                    field,
                    format!(
                        "is {v}, which does not divide {of_field} = {of} (possible values: {})",
                        divisors.join(", ")
                    ),
                ))
            }
        };
        // Fields that describe the data, per kind of data.
        let image = match *data {
            DataSpec::Image {
                channels,
                height,
                width,
                num_classes,
            } => Some((channels, height, width, num_classes)),
            DataSpec::Text { .. } => None,
        };
        let need_image = || image.ok_or(ModelConfigError::Incompatible { model, data: *data });
        // The two fields every image model takes from the data.
        let channels = |v: usize| -> Result<(), ModelConfigError> {
            let (ch, _, _, _) = need_image()?;
            equal(
                "in_channels",
                v,
                ch,
                format!("the images have {ch} channels"),
            )
        };
        let classes = |v: usize| -> Result<(), ModelConfigError> {
            let (_, _, _, k) = need_image()?;
            equal("num_classes", v, k, format!("the data have {k} classes"))
        };
        let square = |field: &'static str, size: usize| -> Result<(), ModelConfigError> {
            let (_, h, w, _) = need_image()?;
            if h != w {
                return Err(ModelConfigError::NonSquare { data: *data });
            }
            equal(field, size, h, format!("the images are {h}x{w}"))
        };
        match self {
            ModelConfig::Mlp(c) => {
                let (ch, h, w, _) = need_image()?;
                equal(
                    "d_input",
                    c.d_input,
                    ch * h * w,
                    format!("the images have {ch}x{h}x{w} = {} values", ch * h * w),
                )?;
                if let Some(i) = c.hidden.iter().position(|&n| n == 0) {
                    return Err(bad(
                        "hidden",
                        format!(
                            "layer {} of {:?} has width 0; every hidden width must be at least 1 \
                             (use [] for no hidden layer)",
                            i + 1,
                            c.hidden
                        ),
                    ));
                }
                classes(c.num_classes)
            }
            ModelConfig::ResNet(c) => {
                channels(c.in_channels)?;
                if c.blocks_per_stage.is_empty() {
                    return Err(bad(
                        "blocks_per_stage",
                        "must list at least one stage, got []".into(),
                    ));
                }
                positive("base_width", c.base_width)?;
                let stages = c.blocks_per_stage.len();
                let widest = u32::try_from(stages - 1)
                    .ok()
                    .and_then(|s| c.base_width.checked_shl(s))
                    .filter(|w| w >> (stages - 1) == c.base_width && *w <= 1 << 16);
                if widest.is_none() {
                    return Err(bad(
                        "base_width",
                        format!(
                            "{} doubled over {stages} stages exceeds 65536 channels",
                            c.base_width
                        ),
                    ));
                }
                classes(c.num_classes)
            }
            ModelConfig::Mixer(c) => {
                channels(c.in_channels)?;
                square("image_size", c.image_size)?;
                divides("patch_size", c.patch_size, "image_size", c.image_size)?;
                positive("hidden_dim", c.hidden_dim)?;
                positive("tokens_mlp_dim", c.tokens_mlp_dim)?;
                positive("channels_mlp_dim", c.channels_mlp_dim)?;
                classes(c.num_classes)
            }
            ModelConfig::Vit(c) => {
                channels(c.in_channels)?;
                square("image_size", c.image_size)?;
                divides("patch_size", c.patch_size, "image_size", c.image_size)?;
                positive("embed_dim", c.embed_dim)?;
                divides("num_heads", c.num_heads, "embed_dim", c.embed_dim)?;
                positive("mlp_dim", c.mlp_dim)?;
                classes(c.num_classes)
            }
            ModelConfig::CharTransformer(c) => {
                let DataSpec::Text { vocab_size } = *data else {
                    return Err(ModelConfigError::Incompatible { model, data: *data });
                };
                equal(
                    "vocab_size",
                    c.vocab_size,
                    vocab_size,
                    format!("the text has {vocab_size} distinct characters"),
                )?;
                positive("d_model", c.d_model)?;
                divides("n_heads", c.n_heads, "d_model", c.d_model)?;
                positive("block_size", c.block_size)?;
                positive("mlp_ratio", c.mlp_ratio)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field_error(config: ModelConfig, data: &DataSpec) -> (&'static str, String) {
        match config.check(data) {
            Err(ModelConfigError::InvalidField { field, problem, .. }) => (field, problem),
            other => panic!("expected an invalid field for {config:?}, got {other:?}"),
        }
    }

    #[test]
    fn default_configs_pass_the_check() {
        for kind in ModelKind::ALL {
            let data = match kind.task() {
                ModelTask::LanguageModeling => DataSpec::tiny_shakespeare(),
                ModelTask::ImageClassification => DataSpec::mnist(),
            };
            kind.config(&data).unwrap().check(&data).unwrap();
            if kind.task() == ModelTask::ImageClassification {
                let c = DataSpec::cifar10();
                kind.config(&c).unwrap().check(&c).unwrap();
            }
        }
    }

    #[test]
    fn the_check_names_the_field_and_the_problem() {
        let mnist = DataSpec::mnist();
        let mlp = |f: fn(MlpConfig) -> MlpConfig| match ModelKind::Mlp.config(&mnist).unwrap() {
            ModelConfig::Mlp(c) => ModelConfig::Mlp(f(c)),
            _ => unreachable!(),
        };
        let vit = |f: fn(VitConfig) -> VitConfig| match ModelKind::Vit.config(&mnist).unwrap() {
            ModelConfig::Vit(c) => ModelConfig::Vit(f(c)),
            _ => unreachable!(),
        };
        let mixer =
            |f: fn(MixerConfig) -> MixerConfig| match ModelKind::Mixer.config(&mnist).unwrap() {
                ModelConfig::Mixer(c) => ModelConfig::Mixer(f(c)),
                _ => unreachable!(),
            };
        let cases: Vec<(ModelConfig, &str, &str)> = vec![
            (mlp(|c| c.with_hidden(vec![0])), "hidden", "width 0"),
            (mlp(|c| c.with_hidden(vec![8, 0])), "hidden", "layer 2"),
            (mlp(|c| c.with_num_classes(3)), "num_classes", "10 classes"),
            (mlp(|c| c.with_d_input(5)), "d_input", "784"),
            (
                vit(|c| c.with_patch_size(5)),
                "patch_size",
                "1, 2, 4, 7, 14, 28",
            ),
            (
                vit(|c| c.with_patch_size(0)),
                "patch_size",
                "does not divide",
            ),
            (vit(|c| c.with_num_heads(3)), "num_heads", "embed_dim = 64"),
            (vit(|c| c.with_num_heads(0)), "num_heads", "is 0"),
            (vit(|c| c.with_image_size(32)), "image_size", "28x28"),
            (vit(|c| c.with_in_channels(3)), "in_channels", "1 channels"),
            (vit(|c| c.with_embed_dim(0)), "embed_dim", "at least 1"),
            (
                mixer(|c| c.with_patch_size(5)),
                "patch_size",
                "does not divide",
            ),
            (mixer(|c| c.with_hidden_dim(0)), "hidden_dim", "at least 1"),
            (mixer(|c| c.with_image_size(32)), "image_size", "28x28"),
            (
                ModelConfig::ResNet(
                    ResNetConfig::resnet8()
                        .with_in_channels(1)
                        .with_blocks_per_stage(vec![]),
                ),
                "blocks_per_stage",
                "at least one stage",
            ),
            (
                ModelConfig::ResNet(ResNetConfig::resnet8().with_in_channels(3)),
                "in_channels",
                "1 channels",
            ),
            (
                ModelConfig::ResNet(
                    ResNetConfig::resnet8()
                        .with_in_channels(1)
                        .with_base_width(0),
                ),
                "base_width",
                "at least 1",
            ),
        ];
        for (config, field, words) in cases {
            let (f, problem) = field_error(config.clone(), &mnist);
            assert_eq!(f, field, "{config:?}: {problem}");
            assert!(
                problem.contains(words),
                "{config:?}: `{problem}` lacks `{words}`"
            );
        }
        let text = DataSpec::tiny_shakespeare();
        let lm = |f: fn(CharTransformerConfig) -> CharTransformerConfig| {
            ModelConfig::CharTransformer(f(CharTransformerConfig::new()))
        };
        for (config, field) in [
            (lm(|c| c.with_n_heads(3)), "n_heads"),
            (lm(|c| c.with_vocab_size(64)), "vocab_size"),
            (lm(|c| c.with_block_size(0)), "block_size"),
            (lm(|c| c.with_d_model(0)), "d_model"),
            (lm(|c| c.with_mlp_ratio(0)), "mlp_ratio"),
        ] {
            assert_eq!(field_error(config, &text).0, field);
        }
        // A model on the wrong kind of data.
        assert!(matches!(
            lm(|c| c).check(&mnist),
            Err(ModelConfigError::Incompatible { .. })
        ));
    }
}
