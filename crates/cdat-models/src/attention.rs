//! Hand-written multi-head self-attention and a pre-LayerNorm transformer block.
//!
//! Attention is `softmax(Q K^T / sqrt(d_head)) V` computed with `matmul` and `softmax`; the
//! causal mask is applied with `mask_fill` (a large negative finite value rather than `-inf`,
//! so that tangents and second derivatives stay finite). No fused attention kernel is used.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{activation, backend::Backend, Bool, Tensor};

use crate::Activation;

/// Value written into masked (future) attention scores before the softmax.
pub const MASK_VALUE: f32 = -1.0e9;

/// Configuration of a [`MultiHeadSelfAttention`] layer.
#[derive(Config, Debug)]
pub struct MultiHeadSelfAttentionConfig {
    /// Model (embedding) dimension; must be divisible by `n_heads`.
    pub d_model: usize,
    /// Number of attention heads.
    pub n_heads: usize,
}

/// Multi-head self-attention with separate query/key/value projections and an output
/// projection (`4 * (d_model^2 + d_model)` parameters).
#[derive(Module, Debug)]
pub struct MultiHeadSelfAttention<B: Backend> {
    /// Query projection.
    pub query: Linear<B>,
    /// Key projection.
    pub key: Linear<B>,
    /// Value projection.
    pub value: Linear<B>,
    /// Output projection.
    pub output: Linear<B>,
    /// Number of heads.
    pub n_heads: usize,
}

impl MultiHeadSelfAttentionConfig {
    /// Initializes the layer on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MultiHeadSelfAttention<B> {
        assert!(
            self.n_heads > 0 && self.d_model.is_multiple_of(self.n_heads),
            "d_model ({}) must be divisible by n_heads ({})",
            self.d_model,
            self.n_heads
        );
        let lin = || LinearConfig::new(self.d_model, self.d_model).init(device);
        MultiHeadSelfAttention {
            query: lin(),
            key: lin(),
            value: lin(),
            output: lin(),
            n_heads: self.n_heads,
        }
    }
}

impl<B: Backend> MultiHeadSelfAttention<B> {
    /// Self-attention over a sequence `[N, T, D]`, returning `[N, T, D]`.
    ///
    /// With `causal = true`, position `t` attends only to positions `<= t`.
    pub fn forward(&self, x: Tensor<B, 3>, causal: bool) -> Tensor<B, 3> {
        let [n, t, d] = x.dims();
        let h = self.n_heads;
        let dh = d / h;
        let split = |y: Tensor<B, 3>| -> Tensor<B, 4> { y.reshape([n, t, h, dh]).swap_dims(1, 2) };
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));

        // [N, H, T, T]
        let mut scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (dh as f64).sqrt());
        if causal {
            let mask = causal_mask::<B>(t, &scores.device())
                .reshape([1, 1, t, t])
                .expand([n, h, t, t]);
            scores = scores.mask_fill(mask, MASK_VALUE);
        }
        let weights = activation::softmax(scores, 3);
        let context = weights.matmul(v).swap_dims(1, 2).reshape([n, t, d]);
        self.output.forward(context)
    }
}

/// Boolean `[T, T]` mask that is `true` strictly above the diagonal (the future positions a
/// causal model must not attend to).
pub fn causal_mask<B: Backend>(t: usize, device: &B::Device) -> Tensor<B, 2, Bool> {
    // `tril_mask` is `false` on the lower triangle (diagonal included) and `true` elsewhere.
    Tensor::<B, 2, Bool>::tril_mask([t, t], 0, device)
}

/// Configuration of a pre-LayerNorm [`TransformerBlock`].
#[derive(Config, Debug)]
pub struct TransformerBlockConfig {
    /// Model (embedding) dimension.
    pub d_model: usize,
    /// Number of attention heads.
    pub n_heads: usize,
    /// Hidden width of the feed-forward MLP.
    pub d_ff: usize,
    /// Nonlinearity of the feed-forward MLP.
    #[config(default = "Activation::Gelu")]
    pub activation: Activation,
}

/// Pre-LN transformer block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.
#[derive(Module, Debug)]
pub struct TransformerBlock<B: Backend> {
    /// Layer norm before attention.
    pub norm_attn: LayerNorm<B>,
    /// Self-attention.
    pub attn: MultiHeadSelfAttention<B>,
    /// Layer norm before the MLP.
    pub norm_mlp: LayerNorm<B>,
    /// First MLP layer (`d_model -> d_ff`).
    pub fc1: Linear<B>,
    /// Second MLP layer (`d_ff -> d_model`).
    pub fc2: Linear<B>,
    /// MLP nonlinearity.
    pub activation: Activation,
}

impl TransformerBlockConfig {
    /// Initializes the block on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TransformerBlock<B> {
        TransformerBlock {
            norm_attn: LayerNormConfig::new(self.d_model).init(device),
            attn: MultiHeadSelfAttentionConfig::new(self.d_model, self.n_heads).init(device),
            norm_mlp: LayerNormConfig::new(self.d_model).init(device),
            fc1: LinearConfig::new(self.d_model, self.d_ff).init(device),
            fc2: LinearConfig::new(self.d_ff, self.d_model).init(device),
            activation: self.activation,
        }
    }
}

impl<B: Backend> TransformerBlock<B> {
    /// Applies the block to `[N, T, D]`; `causal` selects causal self-attention.
    pub fn forward(&self, x: Tensor<B, 3>, causal: bool) -> Tensor<B, 3> {
        let x = x.clone() + self.attn.forward(self.norm_attn.forward(x), causal);
        let hidden = self
            .activation
            .apply(self.fc1.forward(self.norm_mlp.forward(x.clone())));
        x + self.fc2.forward(hidden)
    }
}
