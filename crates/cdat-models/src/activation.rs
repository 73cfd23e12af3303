//! Pointwise activation functions selectable from a config.

use burn::config::Config;
use burn::tensor::{activation, backend::Backend, Tensor};

/// A pointwise nonlinearity. All variants have forward-mode (JVP) rules in the CDAT backend.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Rectified linear unit `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Exact (erf-based) Gaussian error linear unit.
    Gelu,
}

impl Activation {
    /// Applies the activation elementwise.
    pub fn apply<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => activation::gelu(x),
        }
    }

    /// The lower-case name (`"relu"`, `"tanh"`, `"gelu"`).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
        }
    }
}

impl core::str::FromStr for Activation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            "gelu" => Ok(Activation::Gelu),
            other => Err(format!(
                "unknown activation `{other}`; valid activations: relu, tanh, gelu"
            )),
        }
    }
}
