use burn_backend::backend::Backend;
use burn_backend::tensor::FloatTensor;
use burn_backend::{DType, Shape, TensorMetadata};

/// Float tensor primitive of [`Dual`](super::Dual): a truncated Taylor polynomial (a *jet*) of
/// order 2 along a curve `x(t) = x₀ + t·x₁ + ½t²·x₂`.
///
/// - `primal` is `x₀ = x(0)`;
/// - `tangent` is `x₁ = x'(0)`, the directional derivative (`None` when zero);
/// - `second` is `x₂ = x''(0)`, the second-order coefficient (`None` when zero).
///
/// Every op maps the jet of its inputs to the jet of its output, `y(t) = op(x(t))`. With
/// `second == None` everywhere the ops do exactly the first-order (JVP) work; with the tangents
/// `None` too, only the wrapped backend's op runs.
#[derive(Clone, Debug)]
pub struct DualTensor<B: Backend> {
    /// The value.
    pub primal: FloatTensor<B>,
    /// The directional derivative, `None` when zero.
    pub tangent: Option<FloatTensor<B>>,
    /// The second derivative along the curve, `None` when zero. Only meaningful when
    /// `tracks_second` is set.
    pub second: Option<FloatTensor<B>>,
    /// Whether the second-order coefficient is propagated. A first-order dual (`false`) costs
    /// what forward mode costs; a jet (`true`) also carries `second`, even while it is zero
    /// (a parameter moving linearly has `x₂ = 0`, but the first nonlinear op makes it nonzero).
    pub tracks_second: bool,
}

impl<B: Backend> DualTensor<B> {
    /// A first-order dual tensor (the second-order coefficient is not tracked).
    pub fn new(primal: FloatTensor<B>, tangent: Option<FloatTensor<B>>) -> Self {
        Self {
            primal,
            tangent,
            second: None,
            tracks_second: false,
        }
    }

    /// A jet of order 2 from its three coefficients (the second-order coefficient is tracked).
    pub fn jet(
        primal: FloatTensor<B>,
        tangent: Option<FloatTensor<B>>,
        second: Option<FloatTensor<B>>,
    ) -> Self {
        Self {
            primal,
            tangent,
            second,
            tracks_second: true,
        }
    }

    /// A dual tensor with zero derivatives.
    pub fn constant(primal: FloatTensor<B>) -> Self {
        Self::new(primal, None)
    }

    /// Whether no derivative coefficient is carried.
    pub fn is_constant(&self) -> bool {
        self.tangent.is_none() && self.second.is_none()
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
