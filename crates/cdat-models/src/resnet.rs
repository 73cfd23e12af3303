//! CIFAR-style basic-block ResNet, without normalization by default.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::{activation::relu, backend::Backend, Tensor};

use crate::conv::ConvImpl;
use crate::Classifier;

/// Normalization layer used after each convolution of a [`ResNet`].
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// No normalization (default; the paper trains ResNets with batch norm removed).
    None,
    /// Layer norm over the channel dimension at every spatial position (the paper's
    /// "ResNet with layer norm" variant). Deterministic and per-example, so the full-batch
    /// loss and its Hessian are well defined.
    LayerNorm,
    /// Batch norm. Off by default: its batch statistics make the loss of one example depend on
    /// the rest of the mini-batch, so the full-batch Hessian is ill-defined (mini-batch
    /// dependent), and running statistics make train/eval behaviour differ. Provided only for
    /// comparison.
    BatchNorm,
}

/// A per-channel normalization layer for NCHW or channels-last (NHWC) feature maps.
#[derive(Module, Debug)]
pub enum ChannelNorm<B: Backend> {
    /// Layer norm over channels (applied on NHWC; NCHW maps are permuted there and back).
    Layer(LayerNorm<B>),
    /// Batch norm over `(N, H, W)` per channel.
    Batch(BatchNorm<B>),
}

impl<B: Backend> ChannelNorm<B> {
    fn new(kind: Normalization, channels: usize, device: &B::Device) -> Option<Self> {
        match kind {
            Normalization::None => None,
            Normalization::LayerNorm => Some(ChannelNorm::Layer(
                LayerNormConfig::new(channels).init(device),
            )),
            Normalization::BatchNorm => Some(ChannelNorm::Batch(
                BatchNormConfig::new(channels).init(device),
            )),
        }
    }

    /// Normalizes a feature map, `[N, H, W, C]` if `channels_last` else `[N, C, H, W]`.
    pub fn forward(&self, x: Tensor<B, 4>, channels_last: bool) -> Tensor<B, 4> {
        match (self, channels_last) {
            (ChannelNorm::Layer(ln), true) => ln.forward(x),
            (ChannelNorm::Layer(ln), false) => {
                ln.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
            }
            (ChannelNorm::Batch(bn), false) => bn.forward(x),
            (ChannelNorm::Batch(bn), true) => {
                bn.forward(x.permute([0, 3, 1, 2])).permute([0, 2, 3, 1])
            }
        }
    }
}

fn apply_norm<B: Backend>(
    norm: &Option<ChannelNorm<B>>,
    x: Tensor<B, 4>,
    channels_last: bool,
) -> Tensor<B, 4> {
    match norm {
        Some(n) => n.forward(x, channels_last),
        None => x,
    }
}

/// Configuration of a [`ResNet`].
///
/// Stage `i` has `blocks_per_stage[i]` basic blocks of width `base_width * 2^i`; every stage
/// after the first halves the spatial resolution. The network has
/// `2 * sum(blocks_per_stage) + 2` weight layers (stem, blocks, head).
///
/// Defaults (sized for a 2-core CPU): ResNet-8 layout (`[1, 1, 1]`) at half the usual width
/// (base width 8, i.e. widths 8/16/32), no normalization, CIFAR-10 input (3 channels) and 10
/// classes. See [`ResNetConfig::resnet8`], [`ResNetConfig::resnet20`]
/// and [`ResNetConfig::resnet34`] for the standard layouts.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Number of input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Number of output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Number of basic blocks in each stage.
    #[config(default = "vec![1, 1, 1]")]
    pub blocks_per_stage: Vec<usize>,
    /// Width (channels) of the stem and first stage; doubled at every following stage.
    #[config(default = 8)]
    pub base_width: usize,
    /// Normalization after each convolution.
    #[config(default = "Normalization::None")]
    pub normalization: Normalization,
    /// How convolutions are evaluated (same function and parameters either way).
    /// [`ConvImpl::TapMatmul`] (default) is much faster to differentiate on CPU backends;
    /// [`ConvImpl::Native`] uses the backend's `conv2d` (preferable on GPU).
    #[config(default = "ConvImpl::TapMatmul")]
    pub conv_impl: ConvImpl,
}

impl ResNetConfig {
    /// ResNet-8 (CIFAR layout `6n + 2`, `n = 1`): stages `[1, 1, 1]`, widths 16/32/64.
    pub fn resnet8() -> Self {
        Self::new()
            .with_blocks_per_stage(vec![1, 1, 1])
            .with_base_width(16)
    }

    /// ResNet-20 (CIFAR layout `6n + 2`, `n = 3`): stages `[3, 3, 3]`, widths 16/32/64.
    pub fn resnet20() -> Self {
        Self::new()
            .with_blocks_per_stage(vec![3, 3, 3])
            .with_base_width(16)
    }

    /// ResNet-34 (stages `[3, 4, 6, 3]`, widths 64/128/256/512) with a CIFAR stem (3x3 conv,
    /// no max-pooling).
    pub fn resnet34() -> Self {
        Self::new()
            .with_blocks_per_stage(vec![3, 4, 6, 3])
            .with_base_width(64)
    }

    /// Number of weight layers: `2 * sum(blocks_per_stage) + 2`.
    pub fn depth(&self) -> usize {
        2 * self.blocks_per_stage.iter().sum::<usize>() + 2
    }

    /// Initializes a [`ResNet`] on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        assert!(
            !self.blocks_per_stage.is_empty(),
            "ResNetConfig::blocks_per_stage must not be empty"
        );
        let use_bias = self.normalization == Normalization::None;
        let stem = conv3x3(self.in_channels, self.base_width, 1, use_bias, device);
        let stem_norm = ChannelNorm::new(self.normalization, self.base_width, device);
        let mut blocks = Vec::new();
        let mut in_ch = self.base_width;
        for (stage, &n_blocks) in self.blocks_per_stage.iter().enumerate() {
            let out_ch = self.base_width << stage;
            for b in 0..n_blocks {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(
                    in_ch,
                    out_ch,
                    stride,
                    self.normalization,
                    self.conv_impl,
                    device,
                ));
                in_ch = out_ch;
            }
        }
        let head = LinearConfig::new(in_ch, self.num_classes).init(device);
        ResNet {
            stem,
            stem_norm,
            blocks,
            head,
            conv_impl: self.conv_impl,
        }
    }
}

fn conv3x3<B: Backend>(
    in_ch: usize,
    out_ch: usize,
    stride: usize,
    bias: bool,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([in_ch, out_ch], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(bias)
        .init(device)
}

/// A basic residual block: `relu(norm(conv(relu(norm(conv(x))))) + shortcut(x))`.
///
/// The shortcut is the identity, or a strided 1x1 convolution (plus normalization) when the
/// shape changes.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    /// First 3x3 convolution (carries the stride).
    pub conv1: Conv2d<B>,
    /// Normalization after `conv1`.
    pub norm1: Option<ChannelNorm<B>>,
    /// Second 3x3 convolution.
    pub conv2: Conv2d<B>,
    /// Normalization after `conv2`.
    pub norm2: Option<ChannelNorm<B>>,
    /// Projection shortcut (1x1 convolution), present when the shape changes.
    pub shortcut: Option<Conv2d<B>>,
    /// Normalization after the projection shortcut.
    pub shortcut_norm: Option<ChannelNorm<B>>,
    /// Convolution implementation.
    pub conv_impl: ConvImpl,
}

impl<B: Backend> BasicBlock<B> {
    fn new(
        in_ch: usize,
        out_ch: usize,
        stride: usize,
        norm: Normalization,
        conv_impl: ConvImpl,
        device: &B::Device,
    ) -> Self {
        let use_bias = norm == Normalization::None;
        let projection = stride != 1 || in_ch != out_ch;
        let shortcut = projection.then(|| {
            Conv2dConfig::new([in_ch, out_ch], [1, 1])
                .with_stride([stride, stride])
                .with_bias(use_bias)
                .init(device)
        });
        let shortcut_norm = if projection {
            ChannelNorm::new(norm, out_ch, device)
        } else {
            None
        };
        Self {
            conv1: conv3x3(in_ch, out_ch, stride, use_bias, device),
            norm1: ChannelNorm::new(norm, out_ch, device),
            conv2: conv3x3(out_ch, out_ch, 1, use_bias, device),
            norm2: ChannelNorm::new(norm, out_ch, device),
            shortcut,
            shortcut_norm,
            conv_impl,
        }
    }

    /// Applies the block to a feature map in the layout of its [`ConvImpl`]
    /// (`[N, C, H, W]` for `Native`, `[N, H, W, C]` for `TapMatmul`).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let imp = self.conv_impl;
        let cl = imp.channels_last();
        let residual = match &self.shortcut {
            Some(conv) => apply_norm(&self.shortcut_norm, imp.apply(conv, x.clone()), cl),
            None => x.clone(),
        };
        let y = relu(apply_norm(&self.norm1, imp.apply(&self.conv1, x), cl));
        let y = apply_norm(&self.norm2, imp.apply(&self.conv2, y), cl);
        relu(y + residual)
    }
}

/// CIFAR-style ResNet: 3x3 stem, stages of [`BasicBlock`]s, global average pooling and a
/// linear head.
///
/// The default [`ResNetConfig`] (ResNet-8 layout, base width 8, no normalization, 3 → 10) has
/// **19,786** parameters; [`ResNetConfig::resnet8`] (base width 16) has 77,706,
/// [`ResNetConfig::resnet20`] 271,690 and [`ResNetConfig::resnet34`] 21,273,610.
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    /// 3x3 stem convolution.
    pub stem: Conv2d<B>,
    /// Normalization after the stem.
    pub stem_norm: Option<ChannelNorm<B>>,
    /// Residual blocks of all stages, in order.
    pub blocks: Vec<BasicBlock<B>>,
    /// Linear classification head.
    pub head: Linear<B>,
    /// Convolution implementation of the stem.
    pub conv_impl: ConvImpl,
}

impl<B: Backend> ResNet<B> {
    /// Switches every convolution of the network to `conv_impl` (parameters unchanged).
    pub fn with_conv_impl(mut self, conv_impl: ConvImpl) -> Self {
        self.conv_impl = conv_impl;
        for block in &mut self.blocks {
            block.conv_impl = conv_impl;
        }
        self
    }

    /// Logits `[N, num_classes]` for images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let imp = self.conv_impl;
        let cl = imp.channels_last();
        let x = if cl {
            images.permute([0, 2, 3, 1])
        } else {
            images
        };
        let mut x = relu(apply_norm(&self.stem_norm, imp.apply(&self.stem, x), cl));
        for block in &self.blocks {
            x = block.forward(x);
        }
        // Global average pooling over the spatial positions.
        let pooled: Tensor<B, 2> = if cl {
            let [n, h, w, c] = x.dims();
            x.reshape([n, h * w, c]).mean_dim(1).reshape([n, c])
        } else {
            let [n, c, h, w] = x.dims();
            x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
        };
        self.head.forward(pooled)
    }
}

impl<B: Backend> Classifier<B> for ResNet<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }
}
