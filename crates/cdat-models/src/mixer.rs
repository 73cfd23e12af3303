//! MLP-Mixer (Tolstikhin et al., 2021).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{backend::Backend, Tensor};

use crate::conv::patches;
use crate::{Activation, Classifier};

/// Configuration of a [`Mixer`].
///
/// Defaults (a small "Ti-like" Mixer for 32x32 CIFAR-10 images): patch 4 (64 tokens), hidden
/// dim 64, token-MLP dim 32, channel-MLP dim 128, depth 2, GELU. The paper's Mixer-Ti/8 style
/// sizes are reached with e.g. `patch_size = 8, hidden_dim = 192/256, depth = 8..12`.
#[derive(Config, Debug)]
pub struct MixerConfig {
    /// Number of input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Side length of the (square) input images; must be divisible by `patch_size`.
    #[config(default = 32)]
    pub image_size: usize,
    /// Side length of the square patches.
    #[config(default = 4)]
    pub patch_size: usize,
    /// Channel (hidden) dimension of every token.
    #[config(default = 64)]
    pub hidden_dim: usize,
    /// Hidden width of the token-mixing MLPs.
    #[config(default = 32)]
    pub tokens_mlp_dim: usize,
    /// Hidden width of the channel-mixing MLPs.
    #[config(default = 128)]
    pub channels_mlp_dim: usize,
    /// Number of mixer blocks.
    #[config(default = 2)]
    pub depth: usize,
    /// Number of output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// MLP nonlinearity.
    #[config(default = "Activation::Gelu")]
    pub activation: Activation,
}

impl MixerConfig {
    /// Number of tokens (patches) per image.
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }

    /// Initializes a [`Mixer`] on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mixer<B> {
        assert!(
            self.patch_size > 0 && self.image_size.is_multiple_of(self.patch_size),
            "image_size ({}) must be divisible by patch_size ({})",
            self.image_size,
            self.patch_size
        );
        let tokens = self.num_patches();
        let patch_dim = self.in_channels * self.patch_size * self.patch_size;
        let patch_embed = LinearConfig::new(patch_dim, self.hidden_dim).init(device);
        let blocks = (0..self.depth)
            .map(|_| MixerBlock {
                norm_tokens: LayerNormConfig::new(self.hidden_dim).init(device),
                token_fc1: LinearConfig::new(tokens, self.tokens_mlp_dim).init(device),
                token_fc2: LinearConfig::new(self.tokens_mlp_dim, tokens).init(device),
                norm_channels: LayerNormConfig::new(self.hidden_dim).init(device),
                channel_fc1: LinearConfig::new(self.hidden_dim, self.channels_mlp_dim).init(device),
                channel_fc2: LinearConfig::new(self.channels_mlp_dim, self.hidden_dim).init(device),
                activation: self.activation,
            })
            .collect();
        Mixer {
            patch_embed,
            patch_size: self.patch_size,
            blocks,
            norm: LayerNormConfig::new(self.hidden_dim).init(device),
            head: LinearConfig::new(self.hidden_dim, self.num_classes).init(device),
        }
    }
}

/// One mixer block: token mixing `x + W2 act(W1 LN(x)^T)^T`, then channel mixing
/// `x + W4 act(W3 LN(x))`.
#[derive(Module, Debug)]
pub struct MixerBlock<B: Backend> {
    /// Layer norm before token mixing.
    pub norm_tokens: LayerNorm<B>,
    /// Token-mixing MLP, first layer (`tokens -> tokens_mlp_dim`).
    pub token_fc1: Linear<B>,
    /// Token-mixing MLP, second layer (`tokens_mlp_dim -> tokens`).
    pub token_fc2: Linear<B>,
    /// Layer norm before channel mixing.
    pub norm_channels: LayerNorm<B>,
    /// Channel-mixing MLP, first layer (`hidden -> channels_mlp_dim`).
    pub channel_fc1: Linear<B>,
    /// Channel-mixing MLP, second layer (`channels_mlp_dim -> hidden`).
    pub channel_fc2: Linear<B>,
    /// MLP nonlinearity.
    pub activation: Activation,
}

impl<B: Backend> MixerBlock<B> {
    /// Applies the block to tokens `[N, S, C]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        // Token mixing acts along the token axis: [N, S, C] -> [N, C, S].
        let y = self.norm_tokens.forward(x.clone()).swap_dims(1, 2);
        let y = self
            .token_fc2
            .forward(self.activation.apply(self.token_fc1.forward(y)));
        let x = x + y.swap_dims(1, 2);
        // Channel mixing.
        let y = self.norm_channels.forward(x.clone());
        let y = self
            .channel_fc2
            .forward(self.activation.apply(self.channel_fc1.forward(y)));
        x + y
    }
}

/// MLP-Mixer: linear patch embedding (equivalent to a conv with kernel = stride = patch), mixer blocks, final layer norm, mean pooling over
/// tokens and a linear head.
///
/// The default [`MixerConfig`] has **45,962** parameters.
#[derive(Module, Debug)]
pub struct Mixer<B: Backend> {
    /// Patch embedding: a linear map of each flattened `C x p x p` patch (the same function
    /// and parameter count as a `Conv2d` with kernel = stride = `p`).
    pub patch_embed: Linear<B>,
    /// Patch side length.
    pub patch_size: usize,
    /// Mixer blocks.
    pub blocks: Vec<MixerBlock<B>>,
    /// Final layer norm.
    pub norm: LayerNorm<B>,
    /// Linear classification head.
    pub head: Linear<B>,
}

impl<B: Backend> Mixer<B> {
    /// Logits `[N, num_classes]` for images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = self.patch_embed.forward(patches(images, self.patch_size));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = self.norm.forward(x);
        let [n, _, c] = x.dims();
        self.head.forward(x.mean_dim(1).reshape([n, c]))
    }
}

impl<B: Backend> Classifier<B> for Mixer<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }
}
