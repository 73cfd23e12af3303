//! Multi-layer perceptron.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{backend::Backend, Tensor};

use crate::{Activation, Classifier};

/// Configuration of an [`Mlp`].
///
/// Defaults: a CIFAR-10 sized input (`3 * 32 * 32 = 3072`), two hidden layers of width 128,
/// ReLU, 10 classes.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Number of input features after flattening (e.g. 784 for MNIST, 3072 for CIFAR-10).
    #[config(default = 3072)]
    pub d_input: usize,
    /// Widths of the hidden layers, in order (may be empty for a linear model).
    #[config(default = "vec![128, 128]")]
    pub hidden: Vec<usize>,
    /// Number of output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Nonlinearity applied after every hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

/// A fully connected network `Linear -> act -> ... -> Linear` on flattened inputs.
///
/// The default [`MlpConfig`] (3072 → 128 → 128 → 10) has **411,146** parameters.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// Hidden layers followed by the output layer.
    pub layers: Vec<Linear<B>>,
    /// Activation applied between layers.
    pub activation: Activation,
}

impl MlpConfig {
    /// Initializes an [`Mlp`] on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mlp<B> {
        let mut dims = Vec::with_capacity(self.hidden.len() + 2);
        dims.push(self.d_input);
        dims.extend(self.hidden.iter().copied());
        dims.push(self.num_classes);
        let layers = dims
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Mlp {
            layers,
            activation: self.activation,
        }
    }
}

impl<B: Backend> Mlp<B> {
    /// Flattens an input of shape `[N, ...]` to `[N, d_input]` and returns logits
    /// `[N, num_classes]`.
    pub fn forward<const D: usize>(&self, input: Tensor<B, D>) -> Tensor<B, 2> {
        let dims = input.dims();
        let n = dims[0];
        let features: usize = dims[1..].iter().product();
        let mut x: Tensor<B, 2> = input.reshape([n, features]);
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.activation.apply(x);
            }
        }
        x
    }
}

impl<B: Backend> Classifier<B> for Mlp<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }
}
