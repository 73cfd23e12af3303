//! Vision Transformer (Dosovitskiy et al., 2021).

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{backend::Backend, Tensor};

use crate::attention::{TransformerBlock, TransformerBlockConfig};
use crate::conv::patches;
use crate::Classifier;

/// How a [`Vit`] pools its token sequence into one feature vector.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum VitPooling {
    /// A learned class token is prepended; its final representation is classified.
    ClassToken,
    /// The final token representations are averaged.
    Mean,
}

/// Configuration of a [`Vit`].
///
/// Defaults (small, for 32x32 CIFAR-10): patch 4 (64 tokens), embed dim 64, depth 2, 4 heads,
/// MLP dim 128, class token. ViT-Ti sizes: `embed_dim = 192, depth = 12, num_heads = 3,
/// mlp_dim = 768`.
#[derive(Config, Debug)]
pub struct VitConfig {
    /// Number of input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Side length of the (square) input images; must be divisible by `patch_size`.
    #[config(default = 32)]
    pub image_size: usize,
    /// Side length of the square patches.
    #[config(default = 4)]
    pub patch_size: usize,
    /// Token embedding dimension.
    #[config(default = 64)]
    pub embed_dim: usize,
    /// Number of transformer blocks.
    #[config(default = 2)]
    pub depth: usize,
    /// Number of attention heads (must divide `embed_dim`).
    #[config(default = 4)]
    pub num_heads: usize,
    /// Hidden width of the transformer MLPs.
    #[config(default = 128)]
    pub mlp_dim: usize,
    /// Number of output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Pooling of the final tokens.
    #[config(default = "VitPooling::ClassToken")]
    pub pooling: VitPooling,
}

impl VitConfig {
    /// Number of patch tokens per image (without the class token).
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }

    /// Initializes a [`Vit`] on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Vit<B> {
        assert!(
            self.patch_size > 0 && self.image_size.is_multiple_of(self.patch_size),
            "image_size ({}) must be divisible by patch_size ({})",
            self.image_size,
            self.patch_size
        );
        let d = self.embed_dim;
        let cls = self.pooling == VitPooling::ClassToken;
        let seq_len = self.num_patches() + usize::from(cls);
        let small = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Vit {
            patch_embed: LinearConfig::new(self.in_channels * self.patch_size * self.patch_size, d)
                .init(device),
            patch_size: self.patch_size,
            cls_token: cls.then(|| Initializer::Zeros.init([1, 1, d], device)),
            pos_embedding: small.init([1, seq_len, d], device),
            blocks: (0..self.depth)
                .map(|_| TransformerBlockConfig::new(d, self.num_heads, self.mlp_dim).init(device))
                .collect(),
            norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, self.num_classes).init(device),
        }
    }
}

/// Vision Transformer: linear patch embedding (equivalent to a conv with kernel = stride =
/// patch), optional class token, learned positional
/// embedding, pre-LN transformer blocks (non-causal hand-written attention), final layer norm,
/// class-token or mean pooling, linear head.
///
/// The default [`VitConfig`] has **75,082** parameters.
#[derive(Module, Debug)]
pub struct Vit<B: Backend> {
    /// Patch embedding: a linear map of each flattened `C x p x p` patch (the same function
    /// and parameter count as a `Conv2d` with kernel = stride = `p`).
    pub patch_embed: Linear<B>,
    /// Patch side length.
    pub patch_size: usize,
    /// Learned class token `[1, 1, D]` (only with [`VitPooling::ClassToken`]).
    pub cls_token: Option<Param<Tensor<B, 3>>>,
    /// Learned positional embedding `[1, S, D]`.
    pub pos_embedding: Param<Tensor<B, 3>>,
    /// Transformer blocks.
    pub blocks: Vec<TransformerBlock<B>>,
    /// Final layer norm.
    pub norm: LayerNorm<B>,
    /// Linear classification head.
    pub head: Linear<B>,
}

impl<B: Backend> Vit<B> {
    /// Logits `[N, num_classes]` for images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = self.patch_embed.forward(patches(images, self.patch_size));
        let [n, _, d] = x.dims();
        if let Some(cls) = &self.cls_token {
            // Broadcast the class token over the batch with an elementwise add.
            let cls = Tensor::<B, 3>::zeros([n, 1, d], &x.device()) + cls.val();
            x = Tensor::cat(vec![cls, x], 1);
        }
        x = x + self.pos_embedding.val();
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        let x = self.norm.forward(x);
        let pooled: Tensor<B, 2> = if self.cls_token.is_some() {
            x.slice([0..n, 0..1, 0..d]).reshape([n, d])
        } else {
            x.mean_dim(1).reshape([n, d])
        };
        self.head.forward(pooled)
    }
}

impl<B: Backend> Classifier<B> for Vit<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }
}
