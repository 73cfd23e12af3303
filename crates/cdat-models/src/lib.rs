//! Model families used in Roulet et al., *Stepping on the Edge: Curvature Aware Learning
//! Rate Tuners* (NeurIPS 2024), written generically over the Burn backend.
//!
//! Every model is assembled only from `burn-nn` modules (`Linear`, `Conv2d`, `LayerNorm`,
//! `Embedding`, optionally `BatchNorm`) and a small set of tensor operations (elementwise math,
//! `matmul`, reductions, reshape/permute/slice/gather/cat, `mask_fill`, `relu`/`gelu`/`tanh`,
//! `softmax`/`log_softmax`), so that the models also run under a forward-mode (JVP) backend
//! decorator. In particular attention is written by hand with `matmul` + `softmax` and a causal
//! mask applied with `mask_fill`; no fused attention op, no dropout, and no batch norm by
//! default (all of which would make the loss stochastic or mini-batch dependent).
//!
//! Modules:
//! - [`mlp`]: multi-layer perceptron ([`Mlp`]).
//! - [`resnet`]: CIFAR-style basic-block ResNet without normalization by default ([`ResNet`]).
//! - [`mixer`]: MLP-Mixer ([`Mixer`]).
//! - [`vit`]: Vision Transformer ([`Vit`]).
//! - [`transformer`]: decoder-only character-level transformer ([`CharTransformer`]).
//! - [`attention`]: hand-written multi-head self-attention and pre-LN transformer block.
//! - [`loss`]: cross-entropy, sequence cross-entropy, one-hot MSE, accuracy.
//! - [`registry`]: run-time model selection by name ([`ModelConfig`], [`AnyModel`]).
//! - [`conv`]: convolution as per-tap matmuls ([`ConvImpl`]) and patch extraction.
//!
//! Default configs are sized for a 2-core CPU. One Adam step on a CIFAR-10 batch of 128 with
//! `Autodiff<NdArray<f32>>` on 2 cores takes about 0.01 s (MLP), 1.0 s (ResNet, base width 8),
//! 0.35 s (Mixer) and 0.65 s (ViT). Convolutions default to [`ConvImpl::TapMatmul`], because
//! `NdArray`'s native convolution backward pass is ~25x slower; on backends with a fast
//! convolution (GPU backends, or Burn's `Flex` CPU backend, where the default ResNet step takes
//! 0.44 s) [`ConvImpl::Native`] is the better choice.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod loss;
pub mod mixer;
pub mod mlp;
pub mod registry;
pub mod resnet;
pub mod transformer;
pub mod vit;

pub use activation::Activation;
pub use attention::{
    MultiHeadSelfAttention, MultiHeadSelfAttentionConfig, TransformerBlock, TransformerBlockConfig,
};
pub use conv::ConvImpl;
pub use loss::{accuracy, cross_entropy, mse_one_hot, sequence_accuracy, sequence_cross_entropy};
pub use mixer::{Mixer, MixerConfig};
pub use mlp::{Mlp, MlpConfig};
pub use registry::{
    AnyModel, DataSpec, ModelConfig, ModelConfigError, ModelKind, ModelTask, UnknownModelError,
    MODEL_NAMES,
};
pub use resnet::{Normalization, ResNet, ResNetConfig};
pub use transformer::{CharTransformer, CharTransformerConfig};
pub use vit::{Vit, VitConfig, VitPooling};

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

/// An image classifier: maps a batch of images `[N, C, H, W]` to class logits `[N, K]`.
///
/// Implemented by every image model ([`Mlp`], [`ResNet`], [`Mixer`], [`Vit`]) so that a trainer
/// can treat them uniformly.
pub trait Classifier<B: Backend>: Module<B> {
    /// Class logits `[N, num_classes]` for a batch of images `[N, C, H, W]`.
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;
}
