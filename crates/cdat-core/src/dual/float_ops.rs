//! JVP rules for float tensor operations.

use super::{Dual, DualTensor};
use burn_backend::backend::{Backend, ExecutionError};
use core::future::Future;
use core::ops::Range;
use burn_backend::ops::*;
use burn_backend::tensor::{BoolTensor, Device, FloatTensor, IntTensor};
use burn_backend::{BoolDType, Distribution, FloatDType, IntDType, Scalar, Shape, Slice, TensorData};

impl<B: Backend> FloatTensorOps<Self> for Dual<B> {
    fn float_from_data(data: TensorData, device: &Device<Self>) -> FloatTensor<Self> {
        todo!("float_from_data")
    }

    fn float_random(shape: Shape, distribution: Distribution, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_random")
    }

    fn float_zeros(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_zeros", /*default*/)
    }

    fn float_ones(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_ones", /*default*/)
    }

    fn float_full(shape: Shape, fill_value: Scalar, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_full", /*default*/)
    }

    fn float_into_data(tensor: FloatTensor<Self>) -> impl Future<Output = Result<TensorData, ExecutionError>> + Send {
        B::float_into_data(tensor.primal)
    }

    fn float_device(tensor: &FloatTensor<Self>) -> Device<Self> {
        todo!("float_device")
    }

    fn float_to_device(tensor: FloatTensor<Self>, device: &Device<Self>) -> FloatTensor<Self> {
        todo!("float_to_device")
    }

    fn float_into_int(tensor: FloatTensor<Self>, out_dtype: IntDType) -> IntTensor<Self> {
        todo!("float_into_int")
    }

    fn float_empty(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_empty")
    }

    fn float_repeat_dim(tensor: FloatTensor<Self>, dim: usize, times: usize) -> FloatTensor<Self> {
        todo!("float_repeat_dim", /*default*/)
    }

    fn float_add(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_add")
    }

    fn float_add_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_add_scalar")
    }

    fn float_clamp_min(tensor: FloatTensor<Self>, min: Scalar) -> FloatTensor<Self> {
        todo!("float_clamp_min", /*default*/)
    }

    fn float_clamp_max(tensor: FloatTensor<Self>, max: Scalar) -> FloatTensor<Self> {
        todo!("float_clamp_max", /*default*/)
    }

    fn float_clamp(tensor: FloatTensor<Self>, min: Scalar, max: Scalar) -> FloatTensor<Self> {
        todo!("float_clamp", /*default*/)
    }

    fn float_sub(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sub")
    }

    fn float_sub_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_sub_scalar")
    }

    fn float_mul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_mul")
    }

    fn float_mul_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_mul_scalar")
    }

    fn float_div(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_div")
    }

    fn float_div_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_div_scalar")
    }

    fn float_remainder(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_remainder")
    }

    fn float_remainder_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_remainder_scalar")
    }

    fn float_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_matmul")
    }

    fn float_cross(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cross")
    }

    fn float_neg(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_neg", /*default*/)
    }

    fn float_recip(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_recip")
    }

    fn float_transpose(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_transpose", /*default*/)
    }

    fn float_swap_dims(tensor: FloatTensor<Self>, dim1: usize, dim2: usize) -> FloatTensor<Self> {
        todo!("float_swap_dims")
    }

    fn float_permute(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        todo!("float_permute")
    }

    fn float_flip(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        todo!("float_flip")
    }

    fn float_reshape(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        todo!("float_reshape")
    }

    fn float_gather(dim: usize, tensor: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        todo!("float_gather")
    }

    fn float_scatter_add(dim: usize, tensor: FloatTensor<Self>, indices: IntTensor<Self>, value: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_scatter_add")
    }

    fn float_scatter_nd(data: FloatTensor<Self>, indices: IntTensor<Self>, values: FloatTensor<Self>, reduction: burn_backend::tensor::IndexingUpdateOp) -> FloatTensor<Self> {
        todo!("float_scatter_nd", /*default*/)
    }

    fn float_gather_nd(data: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        todo!("float_gather_nd", /*default*/)
    }

    fn float_select(tensor: FloatTensor<Self>, dim: usize, indices: IntTensor<Self>) -> FloatTensor<Self> {
        todo!("float_select")
    }

    fn float_select_add(tensor: FloatTensor<Self>, dim: usize, indices: IntTensor<Self>, value: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_select_add")
    }

    fn float_slice(tensor: FloatTensor<Self>, slices: &[Slice]) -> FloatTensor<Self> {
        todo!("float_slice")
    }

    fn float_slice_assign(tensor: FloatTensor<Self>, slices: &[Slice], value: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_slice_assign")
    }

    fn float_mask_where(tensor: FloatTensor<Self>, mask: BoolTensor<Self>, value: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_mask_where")
    }

    fn float_mask_fill(tensor: FloatTensor<Self>, mask: BoolTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        todo!("float_mask_fill")
    }

    fn float_equal(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_equal")
    }

    fn float_not_equal(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_not_equal", /*default*/)
    }

    fn float_equal_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_equal_elem")
    }

    fn float_not_equal_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_not_equal_elem", /*default*/)
    }

    fn float_greater(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_greater")
    }

    fn float_greater_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_greater_elem")
    }

    fn float_greater_equal(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_greater_equal")
    }

    fn float_greater_equal_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_greater_equal_elem")
    }

    fn float_lower(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_lower")
    }

    fn float_lower_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_lower_elem")
    }

    fn float_lower_equal(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_lower_equal")
    }

    fn float_lower_equal_elem(lhs: FloatTensor<Self>, rhs: Scalar, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_lower_equal_elem")
    }

    fn float_detach(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_detach", /*default*/)
    }

    fn float_set_require_grad(tensor: FloatTensor<Self>, require_grad: bool) -> FloatTensor<Self> {
        todo!("float_set_require_grad", /*default*/)
    }

    fn float_is_require_grad(tensor: &FloatTensor<Self>) -> bool {
        todo!("float_is_require_grad", /*default*/)
    }

    fn float_sum(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sum")
    }

    fn float_sum_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_sum_dim")
    }

    fn float_prod(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_prod", /*default*/)
    }

    fn float_prod_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_prod_dim", /*default*/)
    }

    fn float_mean(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_mean", /*default*/)
    }

    fn float_mean_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_mean_dim")
    }

    fn float_cumsum(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cumsum")
    }

    fn float_cumprod(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cumprod")
    }

    fn float_cummin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cummin")
    }

    fn float_cummax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cummax")
    }

    fn float_cast(tensor: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        todo!("float_cast")
    }

    fn float_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_exp")
    }

    fn float_log(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_log")
    }

    fn float_log1p(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_log1p")
    }

    fn float_powf(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_powf")
    }

    fn float_powi(lhs: FloatTensor<Self>, rhs: IntTensor<Self>) -> FloatTensor<Self> {
        todo!("float_powi", /*default*/)
    }

    fn float_powi_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_powi_scalar", /*default*/)
    }

    fn float_powi_scalar_impl(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        todo!("float_powi_scalar_impl", /*default*/)
    }

    fn float_powf_scalar(tensor: FloatTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        todo!("float_powf_scalar", /*default*/)
    }

    fn float_powf_scalar_impl(tensor: FloatTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        todo!("float_powf_scalar_impl")
    }

    fn float_sqrt(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sqrt")
    }

    fn float_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_abs")
    }

    fn float_cos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_cos")
    }

    fn float_sin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sin")
    }

    fn float_tan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_tan")
    }

    fn float_cosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_cosh")
    }

    fn float_sinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sinh")
    }

    fn float_tanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_tanh")
    }

    fn float_acos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_acos")
    }

    fn float_acosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_acosh")
    }

    fn float_asin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_asin")
    }

    fn float_asinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_asinh")
    }

    fn float_atan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_atan")
    }

    fn float_atanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_atanh")
    }

    fn float_atan2(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_atan2")
    }

    fn float_round(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_round")
    }

    fn float_floor(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_floor")
    }

    fn float_ceil(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_ceil")
    }

    fn float_trunc(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_trunc")
    }

    fn float_erf(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_erf")
    }

    fn float_cat(tensors: Vec<FloatTensor<Self>>, dim: usize) -> FloatTensor<Self> {
        todo!("float_cat", /*default*/)
    }

    fn float_argmax(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        todo!("float_argmax")
    }

    fn float_argtopk(tensor: FloatTensor<Self>, dim: usize, k: usize, out_dtype: IntDType) -> IntTensor<Self> {
        todo!("float_argtopk")
    }

    fn float_topk(tensor: FloatTensor<Self>, dim: usize, k: usize) -> FloatTensor<Self> {
        todo!("float_topk", /*default*/)
    }

    fn float_argmin(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        todo!("float_argmin")
    }

    fn float_max(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_max", /*default*/)
    }

    fn float_max_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_max_dim", /*default*/)
    }

    fn float_max_dim_with_indices(tensor: FloatTensor<Self>, dim: usize, indices_dtype: IntDType) -> (FloatTensor<Self>, IntTensor<Self>) {
        todo!("float_max_dim_with_indices", /*default*/)
    }

    fn float_min(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_min", /*default*/)
    }

    fn float_min_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_min_dim", /*default*/)
    }

    fn float_min_dim_with_indices(tensor: FloatTensor<Self>, dim: usize, indices_dtype: IntDType) -> (FloatTensor<Self>, IntTensor<Self>) {
        todo!("float_min_dim_with_indices", /*default*/)
    }

    fn float_max_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_max_abs", /*default*/)
    }

    fn float_max_abs_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        todo!("float_max_abs_dim", /*default*/)
    }

    fn float_any(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_any", /*default*/)
    }

    fn float_any_dim(tensor: FloatTensor<Self>, dim: usize, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_any_dim", /*default*/)
    }

    fn float_all(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_all", /*default*/)
    }

    fn float_all_dim(tensor: FloatTensor<Self>, dim: usize, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_all_dim", /*default*/)
    }

    fn float_sign(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        todo!("float_sign", /*default*/)
    }

    fn float_expand(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        todo!("float_expand")
    }

    fn float_sort(tensor: FloatTensor<Self>, dim: usize, descending: bool) -> FloatTensor<Self> {
        todo!("float_sort", /*default*/)
    }

    fn float_sort_with_indices(tensor: FloatTensor<Self>, dim: usize, descending: bool, indices_dtype: IntDType) -> (FloatTensor<Self>, IntTensor<Self>) {
        todo!("float_sort_with_indices", /*default*/)
    }

    fn float_argsort(tensor: FloatTensor<Self>, dim: usize, descending: bool, out_dtype: IntDType) -> IntTensor<Self> {
        todo!("float_argsort", /*default*/)
    }

    fn float_grid_sample_2d(tensor: FloatTensor<Self>, grid: FloatTensor<Self>, options: GridSampleOptions) -> FloatTensor<Self> {
        todo!("float_grid_sample_2d", /*default*/)
    }

    fn float_unfold(tensor: FloatTensor<Self>, dim: usize, size: usize, step: usize) -> FloatTensor<Self> {
        todo!("float_unfold")
    }

    fn float_is_nan(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_is_nan", /*default*/)
    }

    fn float_is_inf(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        todo!("float_is_inf", /*default*/)
    }

}
