//! Exact second-order quantities on `Autodiff<Dual<Wgpu>>` (Burn's fused wgpu backend, the one
//! the trainer uses) compared with the same computation on `NdArray<f32>`, on the same parameters,
//! batch and direction: the loss, the gradient, `H·v` and `gᵀv` of [`hvp`], and `f`, `gᵀv` and
//! `vᵀHv` of [`directional_curvature`] (the jet). Skipped, with the reason printed, only when no
//! Vulkan device answers (Debian's `mesa-vulkan-drivers` software driver, lavapipe, counts as one;
//! `.ci/run` installs it) or when cdat-core is built without its `wgpu` feature (the workspace
//! test run enables it through cdat-train's default features).
//!
//! # Why the test model has a 3-wide output, not 1 (a Burn 0.21 bug)
//!
//! This test used to skip itself on lavapipe because plain Burn (no cdat involved) gave a
//! *negative* mean of squares for a 5-7-1 tanh MLP: loss −0.0761 on wgpu against 0.0080 on
//! ndarray, and −0.0761 again with other weights (0.1275 on ndarray). Measured on lavapipe (Mesa
//! 22.3.6, LLVM 15), the fault is Burn's, not the driver's and not the check's:
//!
//! - the same ops on Burn's unfused wgpu backend (`CubeBackend<WgpuRuntime>`) agree with ndarray
//!   to 6e-8, and so does the fused backend on every variant (flat or shaped uploads, with or
//!   without tanh and the first bias) that has no elementwise op after the `[·, 1]` matmul;
//! - on the fused backend, with fixed weights, `h·w₂ + b₂` with `h: [8, 7]`, `w₂: [7, 1]` (a
//!   matrix-vector product, `MatmulKind::MatVec`, followed by the bias add that fusion folds
//!   into the matmul) returns the right first row and stale memory in the other seven,
//!   `[-0.0913, 0.2727, -0.5455, 0.7273, -0.0909, -0.9091, 0.3636, -0.4545]` against
//!   `[-0.0913, -0.0745, -0.0585, -0.0435, -0.3647, -0.3456, -0.3253, -0.3041]`: the seven are
//!   the leftover inputs `x[1..8] = (i·37 mod 23)/11 − 1` of an earlier, freed buffer. Hence
//!   `mean(y²)` of the MLP can come out negative;
//! - the fused matmul autotuner (`burn-cubecl-fusion` 0.21.0, `optim/matmul/tune.rs`) offers the
//!   vector-matrix kernel `fused_gemv_unit_perpendicular` for `MatVec` problems, and on lavapipe
//!   it is the only candidate that launches (its autotune log shows every other one `Skip` or
//!   `InvalidSamples`), so it is always picked; it computes only row 0. Reported upstream as
//!   tracel-ai/burn#5122 (also on CUDA and on AMD Vulkan), open at the time of writing.
//!
//! Any `[n, k] × [k, 1]` matmul with `n, k > 1` followed by an elementwise op is affected: a
//! 1-wide output head, a 1-wide hidden layer, and the backward product `hᵀ·g` of either. Through
//! cdat the 5-7-1 case is wrong too (this test with that model: loss off by 0.88 relative, `H·v`
//! by 1.5, `vᵀHv` by 1.1). The shipped configurations end in 10 classes or a vocabulary, which is
//! why 20 CDAT steps of the trainer on lavapipe matched ndarray to about 1e-4.
//! `matvec_head_on_fused_wgpu` below is the reduced case, ignored while the bug stands (run it
//! with `--ignored`: on lavapipe rows 1–7 come back 0 or stale). The HVP test uses a 5-7-3 MLP:
//! every matmul of its forward, tangent and backward passes is a general one (`m, n, k > 1`), so
//! it tests cdat's rules on the device, not that bug.
//!
//! # Tolerances
//!
//! Both sides are f32 with different summation orders. Measured on lavapipe over five runs with
//! fresh autotune caches (four of them with other weights), the largest difference relative to
//! the largest entry (vectors) or to the value (scalars) was 3.2e-7 (`vᵀHv` of the jet), all
//! others at most 1.9e-7 (see the printed `measured` line). The test allows 1e-4, some 300 times
//! more, while a wrong rule (a dropped or doubled term) or the bug above moves them by O(1).

#[cfg(not(feature = "wgpu"))]
#[test]
fn hvp_on_wgpu_matches_cpu() {
    println!("skipped: cdat-core was built without its `wgpu` feature (cargo test --workspace enables it)");
}

#[cfg(feature = "wgpu")]
mod gpu {
    use std::sync::mpsc;
    use std::time::Duration;

    use burn::backend::wgpu::{Wgpu, WgpuDevice};
    use burn::backend::NdArray;
    use burn::module::{Module, ModuleMapper, Param, ParamId};
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::activation::tanh;
    use burn::tensor::backend::Backend;
    use burn::tensor::{ElementConversion, Tensor, TensorData};
    use cdat_core::curvature::{directional_curvature, hvp, parameters, HvpBackend};
    use cdat_core::ParamVec;

    /// Relative tolerance (to the largest entry) for vectors, and for scalars (to max(|x|, 1e-3)).
    const TOL: f32 = 1e-4;

    #[derive(Module, Debug)]
    struct Mlp<B: Backend> {
        l1: Linear<B>,
        l2: Linear<B>,
    }

    impl<B: Backend> Mlp<B> {
        fn new(d_out: usize, device: &B::Device) -> Self {
            Self {
                l1: LinearConfig::new(5, 7).init(device),
                l2: LinearConfig::new(7, d_out).init(device),
            }
        }
        fn loss(&self, x: Tensor<B, 2>) -> Tensor<B, 1> {
            let y = self.l2.forward(tanh(self.l1.forward(x)));
            (y.clone() * y).mean()
        }
    }

    /// Whether a wgpu device can run a tensor op, probed on a thread with a time limit so that a
    /// missing driver can neither panic this test nor hang it.
    fn wgpu_available() -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| {
                let t = Tensor::<Wgpu, 1>::from_data([1.0f32, 2.0], &WgpuDevice::default());
                t.sum().into_scalar()
            });
            let _ = tx.send(r.map_err(|_| "wgpu device initialisation panicked".to_string()));
        });
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("wgpu device did not answer within 300 s".into()),
        }
    }

    /// Sets a module's parameters, by visiting order, to `data` (keeping `ids` where given, so
    /// that a direction keyed by the CPU model's ids applies) and marks them as requiring grad.
    struct Load<'a> {
        data: &'a [TensorData],
        ids: Option<&'a [ParamId]>,
        next: usize,
    }

    impl<BB: Backend> ModuleMapper<BB> for Load<'_> {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<BB, D>>) -> Param<Tensor<BB, D>> {
            let (id, t, m) = p.consume();
            let new = Tensor::<BB, 1>::from_data(self.data[self.next].clone(), &t.device())
                .reshape(t.shape())
                .require_grad();
            let id = self.ids.map_or(id, |ids| ids[self.next]);
            self.next += 1;
            Param::from_mapped_value(id, new, m)
        }
    }

    fn load<BB: Backend>(m: Mlp<BB>, data: &[TensorData], ids: Option<&[ParamId]>) -> Mlp<BB> {
        m.map(&mut Load { data, ids, next: 0 })
    }

    fn batch() -> Vec<f32> {
        (0..40)
            .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
            .collect()
    }

    fn values<B: Backend>(v: &ParamVec<B>) -> Vec<f32> {
        v.entries()
            .iter()
            .flat_map(|(_, t)| t.to_data().convert::<f32>().to_vec::<f32>().unwrap())
            .collect()
    }

    /// Largest difference relative to the largest entry of the reference `a`.
    fn rel_vec(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        diff / scale
    }

    fn rel(a: f64, b: f64) -> f32 {
        ((a - b).abs() / a.abs().max(1e-3)) as f32
    }

    #[test]
    fn hvp_on_wgpu_matches_cpu() {
        if let Err(reason) = wgpu_available() {
            println!("skipped: no usable Vulkan device ({reason}); install one, e.g. `apt-get install mesa-vulkan-drivers`");
            return;
        }
        type G = HvpBackend<Wgpu>;
        type C = HvpBackend<NdArray<f32>>;
        let (gd, cd) = (WgpuDevice::default(), Default::default());
        let x = batch();

        // Fixed weights (not Burn's unseeded initialisation), so that every run compares the
        // same numbers: entries spread over about ±0.6, by visiting order.
        let sizes = [35, 7, 21, 3];
        let mut k = 0u32;
        let data: Vec<TensorData> = sizes
            .iter()
            .map(|&n| {
                let v: Vec<f32> = (0..n)
                    .map(|_| {
                        k += 1;
                        ((k as f32 * 0.618_034).fract() - 0.5) * 1.2
                    })
                    .collect();
                TensorData::new(v, [n])
            })
            .collect();
        let cpu = load(Mlp::<C>::new(3, &cd), &data, None);
        let w = parameters(&cpu);
        let ids: Vec<ParamId> = w.entries().iter().map(|(id, _)| *id).collect();
        let gpu = load(Mlp::<G>::new(3, &gd), &data, Some(&ids));
        // The direction: not parallel to anything special, O(1) entries.
        let v_cpu = w.map(|t| t.clone().cos());
        let v_gpu: ParamVec<Wgpu> = v_cpu.map(|t| Tensor::from_data(t.to_data(), &gd));
        let xc = Tensor::<C, 2>::from_data(TensorData::new(x.clone(), [8, 5]), &cd);
        let xg = Tensor::<G, 2>::from_data(TensorData::new(x.clone(), [8, 5]), &gd);

        // Plain Burn first (no cdat): if this fails, the device or Burn computes wrong results
        // and every number below would be wrong for users too; the test must not pass then.
        let plain = load(Mlp::<Wgpu>::new(3, &gd), &data, None);
        let xp = Tensor::<Wgpu, 2>::from_data(TensorData::new(x, [8, 5]), &gd);
        let plain_loss = plain.loss(xp).into_scalar().elem::<f64>();
        let cpu_loss = cpu.loss(xc.clone()).into_scalar().elem::<f64>();

        let hc = hvp(&cpu, |m: &Mlp<C>| m.loss(xc.clone()), &v_cpu);
        let hg = hvp(&gpu, |m: &Mlp<G>| m.loss(xg.clone()), &v_gpu);
        let dc = directional_curvature(&cpu, |m: &Mlp<C>| m.loss(xc.clone()), &v_cpu);
        let dg = directional_curvature(&gpu, |m: &Mlp<G>| m.loss(xg.clone()), &v_gpu);

        let (gc, gg) = (values(&hc.grad), values(&hg.grad));
        let (hvc, hvg) = (values(&hc.hv), values(&hg.hv));
        let measured = [
            ("plain loss", rel(cpu_loss, plain_loss)),
            ("hvp loss", rel(hc.loss, hg.loss)),
            ("grad", rel_vec(&gc, &gg)),
            ("H·v", rel_vec(&hvc, &hvg)),
            ("gᵀv", rel(hc.grad_dot_v, hg.grad_dot_v)),
            ("jet loss", rel(dc.loss, dg.loss)),
            ("jet gᵀv", rel(dc.slope, dg.slope)),
            ("jet vᵀHv", rel(dc.curvature, dg.curvature)),
        ];
        println!(
            "measured (ndarray loss {:.6}, vᵀHv {:.6}, max|H·v| {:.4}): {}",
            hc.loss,
            dc.curvature,
            hvc.iter().fold(0f32, |m, v| m.max(v.abs())),
            measured
                .iter()
                .map(|(k, e)| format!("{k} {e:.1e}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Not a vacuous comparison: the curvature along v and H·v are far from zero.
        assert!(hvc.iter().any(|h| h.abs() > 1e-2), "H·v is ~0: {hvc:?}");
        assert!(dc.curvature.abs() > 1e-2, "vᵀHv is ~0: {}", dc.curvature);
        assert!(
            measured[0].1 <= TOL,
            "plain Burn on this wgpu device disagrees with the CPU on a 5-7-3 tanh MLP (loss \
             {plain_loss} vs {cpu_loss}): Burn or the driver computes wrong results here"
        );
        for (what, e) in &measured[1..] {
            assert!(
                *e <= TOL,
                "{what} on wgpu differs from ndarray by {e:e} relative (> {TOL:e}); ndarray \
                 H·v {hvc:?}, wgpu H·v {hvg:?}"
            );
        }
        // cdat's own consistency on the device: vᵀ(H·v) of the HVP equals the jet's vᵀHv.
        let vhv = v_gpu.dot(&hg.hv);
        assert!(
            rel(dg.curvature, vhv) <= TOL,
            "wgpu: jet vᵀHv {} vs vᵀ(H·v) {vhv}",
            dg.curvature
        );
    }

    /// The Burn 0.21 bug described in the module docs, reduced: `h·w + b` with `w: [7, 1]` on
    /// the fused wgpu backend. Ignored while tracel-ai/burn#5122 stands (it fails on lavapipe:
    /// rows 1–7 are stale memory); run with `--ignored` to check a Burn upgrade.
    #[test]
    #[ignore = "Burn 0.21 fused MatVec bug (tracel-ai/burn#5122); see the module docs"]
    fn matvec_head_on_fused_wgpu() {
        if let Err(reason) = wgpu_available() {
            println!("skipped: no usable Vulkan device ({reason})");
            return;
        }
        fn head<B: Backend>(dev: &B::Device) -> Vec<f32> {
            let h: Vec<f32> = (0..56)
                .map(|i| ((i * 13 % 17) as f32 / 17.0) - 0.5)
                .collect();
            let w: Vec<f32> = (0..7).map(|i| ((i * 5 % 7) as f32 / 7.0) - 0.4).collect();
            let h = Tensor::<B, 2>::from_data(TensorData::new(h, [8, 7]), dev);
            let w = Tensor::<B, 2>::from_data(TensorData::new(w, [7, 1]), dev);
            let b = Tensor::<B, 2>::from_data(TensorData::new(vec![0.03f32], [1, 1]), dev);
            (h.matmul(w) + b)
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .unwrap()
        }
        let (c, g) = (
            head::<NdArray<f32>>(&Default::default()),
            head::<Wgpu>(&WgpuDevice::default()),
        );
        assert!(rel_vec(&c, &g) <= TOL, "ndarray {c:?}\nwgpu    {g:?}");
    }
}
