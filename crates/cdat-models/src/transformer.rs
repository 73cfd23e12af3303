//! Decoder-only character-level transformer (the paper's "NanoLM").

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{backend::Backend, Int, Tensor};

use crate::attention::{TransformerBlock, TransformerBlockConfig};

/// Configuration of a [`CharTransformer`].
///
/// Defaults (small): vocabulary 65 (Tiny Shakespeare), 2 layers, `d_model = 64`, 4 heads,
/// block size 32, MLP width `4 * d_model`. The paper's NanoLM: `n_layers = 6, d_model = 256,
/// n_heads = 8, block_size = 64`.
#[derive(Config, Debug)]
pub struct CharTransformerConfig {
    /// Vocabulary size (number of distinct characters).
    #[config(default = 65)]
    pub vocab_size: usize,
    /// Number of transformer blocks.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Embedding dimension.
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of attention heads (must divide `d_model`).
    #[config(default = 4)]
    pub n_heads: usize,
    /// Maximum context length (number of learned positions).
    #[config(default = 32)]
    pub block_size: usize,
    /// MLP hidden width as a multiple of `d_model`.
    #[config(default = 4)]
    pub mlp_ratio: usize,
}

impl CharTransformerConfig {
    /// The paper's NanoLM size: 6 layers, 256-dim embeddings, 8 heads, block size 64
    /// (4,788,801 parameters with the 65-character vocabulary).
    pub fn paper() -> Self {
        Self::new()
            .with_n_layers(6)
            .with_d_model(256)
            .with_n_heads(8)
            .with_block_size(64)
    }

    /// Initializes a [`CharTransformer`] on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> CharTransformer<B> {
        let emb_init = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        CharTransformer {
            token_embedding: EmbeddingConfig::new(self.vocab_size, self.d_model)
                .with_initializer(emb_init.clone())
                .init(device),
            position_embedding: EmbeddingConfig::new(self.block_size, self.d_model)
                .with_initializer(emb_init)
                .init(device),
            blocks: (0..self.n_layers)
                .map(|_| {
                    TransformerBlockConfig::new(
                        self.d_model,
                        self.n_heads,
                        self.mlp_ratio * self.d_model,
                    )
                    .init(device)
                })
                .collect(),
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: LinearConfig::new(self.d_model, self.vocab_size).init(device),
            block_size: self.block_size,
        }
    }
}

/// Decoder-only transformer: token + learned position embeddings, pre-LN blocks with causal
/// self-attention (matmul + softmax + `mask_fill` causal mask), final layer norm, linear head
/// to vocabulary logits.
///
/// The default [`CharTransformerConfig`] has **110,529** parameters.
#[derive(Module, Debug)]
pub struct CharTransformer<B: Backend> {
    /// Token embedding `[vocab, D]`.
    pub token_embedding: Embedding<B>,
    /// Learned position embedding `[block_size, D]`.
    pub position_embedding: Embedding<B>,
    /// Transformer blocks (causal).
    pub blocks: Vec<TransformerBlock<B>>,
    /// Final layer norm.
    pub norm: LayerNorm<B>,
    /// Output head to vocabulary logits.
    pub head: Linear<B>,
    /// Maximum sequence length.
    pub block_size: usize,
}

impl<B: Backend> CharTransformer<B> {
    /// Next-token logits `[N, T, vocab]` for token ids `[N, T]` (`T <= block_size`).
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [_, t] = tokens.dims();
        assert!(
            t <= self.block_size,
            "sequence length {t} exceeds block_size {}",
            self.block_size
        );
        let device = tokens.device();
        let positions = Tensor::<B, 1, Int>::arange(0..t as i64, &device).reshape([1, t]);
        let mut x =
            self.token_embedding.forward(tokens) + self.position_embedding.forward(positions);
        for block in &self.blocks {
            x = block.forward(x, true);
        }
        self.head.forward(self.norm.forward(x))
    }
}
