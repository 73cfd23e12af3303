//! JVP rules for activation operations.

use super::{Dual, DualTensor};
use burn_backend::backend::Backend;
use burn_backend::Scalar;
use burn_backend::ops::*;
use burn_backend::tensor::FloatTensor;

impl<B: Backend> ActivationOps<Self> for Dual<B> {
    fn leaky_relu(tensor: FloatTensor<Self>, negative_slope: Scalar) -> FloatTensor<Self> {
        todo!("leaky_relu", /*default*/)
    }

    fn relu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("relu", /*default*/)
    }

    fn relu_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("relu_backward", /*default*/)
    }

    fn gelu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("gelu", /*default*/)
    }

    fn prelu(tensor: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("prelu", /*default*/)
    }

    fn gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("gelu_backward", /*default*/)
    }

    fn sigmoid(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("sigmoid", /*default*/)
    }

    fn sigmoid_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("sigmoid_backward", /*default*/)
    }

    fn hard_sigmoid(tensor: FloatTensor<Self>, alpha: Scalar, beta: Scalar) -> FloatTensor<Self> {
        todo!("hard_sigmoid", /*default*/)
    }

    fn log_sigmoid(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("log_sigmoid", /*default*/)
    }

    fn softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("softmax", /*default*/)
    }

    fn log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("log_softmax", /*default*/)
    }

    fn softmin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("softmin", /*default*/)
    }

    fn log_sigmoid_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("log_sigmoid_backward", /*default*/)
    }

}
