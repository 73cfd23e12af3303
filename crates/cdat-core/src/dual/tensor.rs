use burn_backend::backend::Backend;
use burn_backend::tensor::FloatTensor;
use burn_backend::{DType, Shape, TensorMetadata};

/// Float tensor primitive of [`Dual`](super::Dual): a primal value and an optional tangent of
/// the same shape. `tangent == None` stands for an identically zero tangent.
#[derive(Clone, Debug)]
pub struct DualTensor<B: Backend> {
    /// The value.
    pub primal: FloatTensor<B>,
    /// The directional derivative, `None` when zero.
    pub tangent: Option<FloatTensor<B>>,
}

impl<B: Backend> DualTensor<B> {
    /// A dual tensor from its parts.
    pub fn new(primal: FloatTensor<B>, tangent: Option<FloatTensor<B>>) -> Self {
        Self { primal, tangent }
    }

    /// A dual tensor with a zero tangent.
    pub fn constant(primal: FloatTensor<B>) -> Self {
        Self {
            primal,
            tangent: None,
        }
    }
}

impl<B: Backend> TensorMetadata for DualTensor<B> {
    fn dtype(&self) -> DType {
        self.primal.dtype()
    }

    fn shape(&self) -> Shape {
        self.primal.shape()
    }

    fn rank(&self) -> usize {
        self.primal.rank()
    }
}
