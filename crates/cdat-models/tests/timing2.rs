mod common;
use burn::tensor::{s, Distribution, Tensor};
use common::*;
use std::time::Instant;

fn t<F: FnMut() -> Tensor<B, 2>>(name: &str, mut f: F) {
    let _ = f().into_data();
    let t0 = Instant::now();
    for _ in 0..5 { let _ = f().into_data(); }
    println!("{name}: {:?}", t0.elapsed() / 5);
}

#[test]
#[ignore]
fn parts() {
    let dev = Default::default();
    let (n, c, l, o) = (128usize, 8usize, 1024usize, 8usize);
    let xp = Tensor::<B, 4>::random([n, 34, 34, c], Distribution::Default, &dev);
    let x = Tensor::<B, 4>::random([n, 32, 32, c], Distribution::Default, &dev);
    let w = Tensor::<B, 2>::random([c, o], Distribution::Default, &dev);
    let w9 = Tensor::<B, 2>::random([c, 9*o], Distribution::Default, &dev);
    let x2 = x.clone().reshape([n*l, c]);
    t("slice+reshape", || xp.clone().slice(s![.., 1..33, 1..33, ..]).reshape([n*l, c]));
    t("matmul k8", || x2.clone().matmul(w.clone()));
    t("matmul k8 o72", || x2.clone().matmul(w9.clone()));
    t("add", || x2.clone() + x2.clone());
    t("pad via cat", || { let z = Tensor::<B,4>::zeros([n,1,32,c], &dev); let y = Tensor::cat(vec![z.clone(), x.clone(), z], 1); let z2 = Tensor::<B,4>::zeros([n,34,1,c], &dev); Tensor::cat(vec![z2.clone(), y, z2], 2).reshape([n*34*34, c]) });
    t("zeros", || Tensor::<B,2>::zeros([n*l, c], &dev));
    t("slice_assign into zeros", || Tensor::<B,4>::zeros([n,34,34,c], &dev).slice_assign(s![.., 1..33, 1..33, ..], x.clone()).reshape([n*34*34, c]));
    t("matmul grad W (x^T g)", || x2.clone().transpose().matmul(x2.clone()));
    t("relu", || burn::tensor::activation::relu(x2.clone()));
    t("permute nchw->nhwc", || Tensor::<B,4>::random([n, 3, 32, 32], Distribution::Default, &dev).permute([0,2,3,1]).reshape([n*l, 3]));
}
