//! Convolution and patch-extraction helpers.
//!
//! [`conv2d_channels_last`] evaluates a burn-nn [`Conv2d`] on a channels-last feature map
//! `[N, H, W, C]` as a sum over kernel taps of (strided) shifted slices times the matching
//! `[C, O]` weight slice: `y = sum_{i,j} x[:, i::s, j::s, :] W[:, :, i, j]^T + b`. It uses only
//! cat (zero padding), slice, reshape, 2-D matmul and add, and on CPU backends whose native
//! convolution backward pass is a naive loop (e.g. `NdArray`, where it is ~25x slower than
//! this) it is much faster to differentiate. It computes the same function of the same
//! `Conv2d` parameters as `Conv2d::forward`.

use burn::config::Config;
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::{backend::Backend, s, Tensor};

/// How convolutions are evaluated.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum ConvImpl {
    /// The backend's `conv2d` op on NCHW feature maps (best on GPU backends).
    Native,
    /// Channels-last feature maps and one matmul per kernel tap, see
    /// [`conv2d_channels_last`] (best on CPU backends).
    TapMatmul,
}

impl ConvImpl {
    /// Whether feature maps are kept channels-last (`[N, H, W, C]`) with this implementation.
    pub fn channels_last(self) -> bool {
        self == ConvImpl::TapMatmul
    }

    /// Applies `conv` to a feature map in this implementation's layout (`[N, C, H, W]` for
    /// [`ConvImpl::Native`], `[N, H, W, C]` for [`ConvImpl::TapMatmul`]).
    pub fn apply<B: Backend>(self, conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            ConvImpl::Native => conv.forward(x),
            ConvImpl::TapMatmul => conv2d_channels_last(conv, x),
        }
    }
}

/// `(start, end)` padding of Burn's `Same` mode along one axis.
fn same_padding(kernel: usize, stride: usize, size_in: usize) -> (usize, usize) {
    let size_out = size_in.div_ceil(stride);
    let total = ((size_out.max(1) - 1) * stride + kernel).saturating_sub(size_in);
    (total / 2, total - total / 2)
}

/// `[top, left, bottom, right]` padding of `conv` for an `h x w` input (as in Burn).
fn explicit_padding<B: Backend>(conv: &Conv2d<B>, h: usize, w: usize) -> [usize; 4] {
    match conv.padding {
        PaddingConfig2d::Valid => [0, 0, 0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Same => {
            let (top, bottom) = same_padding(conv.kernel_size[0], conv.stride[0], h);
            let (left, right) = same_padding(conv.kernel_size[1], conv.stride[1], w);
            [top, left, bottom, right]
        }
    }
}

/// Zero-pads a channels-last map `[N, H, W, C]` by `[top, left, bottom, right]` with `cat`.
fn zero_pad_channels_last<B: Backend>(
    x: Tensor<B, 4>,
    [top, left, bottom, right]: [usize; 4],
) -> Tensor<B, 4> {
    let device = x.device();
    let [n, h, w, c] = x.dims();
    let mut x = x;
    if top + bottom > 0 {
        let mut parts = Vec::with_capacity(3);
        if top > 0 {
            parts.push(Tensor::zeros([n, top, w, c], &device));
        }
        parts.push(x);
        if bottom > 0 {
            parts.push(Tensor::zeros([n, bottom, w, c], &device));
        }
        x = Tensor::cat(parts, 1);
    }
    if left + right > 0 {
        let hp = h + top + bottom;
        let mut parts = Vec::with_capacity(3);
        if left > 0 {
            parts.push(Tensor::zeros([n, hp, left, c], &device));
        }
        parts.push(x);
        if right > 0 {
            parts.push(Tensor::zeros([n, hp, right, c], &device));
        }
        x = Tensor::cat(parts, 2);
    }
    x
}

/// Applies `conv` to a channels-last feature map `[N, H, W, C]`, returning `[N, H', W', O]`.
///
/// Same result as `conv.forward` on the NCHW permutation. Supports any kernel size, stride
/// and padding; requires `groups = 1` and dilation 1.
pub fn conv2d_channels_last<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    assert!(
        conv.groups == 1 && conv.dilation == [1, 1],
        "conv2d_channels_last supports groups = 1 and dilation 1 only"
    );
    let [n, h, w, c] = x.dims();
    let [o, _, kh, kw] = conv.weight.dims();
    let [sh, sw] = conv.stride;
    let padding = explicit_padding(conv, h, w);
    let (hp, wp) = (h + padding[0] + padding[2], w + padding[1] + padding[3]);
    assert!(hp >= kh && wp >= kw, "kernel larger than the padded input");
    let (ho, wo) = ((hp - kh) / sh + 1, (wp - kw) / sw + 1);
    let rows = n * ho * wo;
    let xp = zero_pad_channels_last(x, padding);
    // [O, C, kh, kw] -> [kh, kw, C, O]
    let weight = conv.weight.val().permute([2, 3, 1, 0]);

    let mut out: Option<Tensor<B, 2>> = None;
    for i in 0..kh {
        for j in 0..kw {
            let tap: Tensor<B, 2> = xp
                .clone()
                .slice(s![
                    ..,
                    i..i + (ho - 1) * sh + 1; sh as isize,
                    j..j + (wo - 1) * sw + 1; sw as isize,
                    ..
                ])
                .reshape([rows, c]);
            let w_tap: Tensor<B, 2> = weight
                .clone()
                .slice(s![i..i + 1, j..j + 1, .., ..])
                .reshape([c, o]);
            let y = tap.matmul(w_tap);
            out = Some(match out {
                Some(acc) => acc + y,
                None => y,
            });
        }
    }
    let mut out = out.expect("kernel has at least one tap");
    if let Some(bias) = &conv.bias {
        out = out + bias.val().reshape([1, o]);
    }
    out.reshape([n, ho, wo, o])
}

/// Splits images `[N, C, H, W]` into non-overlapping `p x p` patches, returned as a token
/// sequence `[N, (H/p)*(W/p), C*p*p]` (row-major over patches; features ordered `(c, i, j)`,
/// the order of a flattened `Conv2d` weight `[D, C, p, p]`). Uses only reshape/permute.
pub fn patches<B: Backend>(images: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [n, c, h, w] = images.dims();
    let (gh, gw) = (h / p, w / p);
    images
        .reshape([n, c, gh, p, gw, p])
        .permute([0, 2, 4, 1, 3, 5])
        .reshape([n, gh * gw, c * p * p])
}
