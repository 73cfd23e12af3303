//! Backend selection: `ndarray`, `wgpu`, or `auto` (wgpu if a device answers, else ndarray),
//! and the one place where a backend-generic job is instantiated for a concrete backend.

use anyhow::Result;
use burn::tensor::backend::Backend;

use crate::run::config::{BackendChoice, Precision};
use crate::run::error::UserError;

/// The apt line that installs a software Vulkan driver on Debian/Ubuntu.
pub const VULKAN_APT_LINE: &str = "apt-get install mesa-vulkan-drivers";

/// A concrete backend, chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// burn-ndarray on the CPU.
    Ndarray(Precision),
    /// wgpu on the adapter described.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    Wgpu {
        /// Adapter name and type.
        adapter: String,
    },
}

impl Resolved {
    /// `ndarray` or `wgpu`.
    pub fn name(&self) -> &'static str {
        match self {
            Resolved::Ndarray(_) => "ndarray",
            Resolved::Wgpu { .. } => "wgpu",
        }
    }

    /// Human-readable description of the device.
    pub fn describe(&self) -> String {
        match self {
            Resolved::Ndarray(p) => format!("ndarray (CPU, {})", precision_name(*p)),
            Resolved::Wgpu { adapter } => format!("wgpu ({adapter}, f32)"),
        }
    }
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

/// A backend-generic job (training a run): [`dispatch`] calls `run` with the chosen backend.
pub trait BackendJob {
    /// What the job returns.
    type Output;
    /// Runs on backend `B` and its device.
    fn run<B: Backend>(self, device: B::Device, backend: &Resolved) -> Self::Output;
}

/// Chooses the backend. `notice` receives the one-line message printed when `auto` falls back.
pub fn resolve(
    choice: BackendChoice,
    precision: Precision,
    notice: &mut dyn FnMut(&str),
) -> Result<Resolved> {
    if precision == Precision::F64 {
        // Burn 0.21 tensors keep the dtype of the data they are made from (the loaders give
        // f32), so an `NdArray<f64>` run would still compute in f32: refuse rather than mislead.
        return Err(UserError::new(
            "--precision f64 is not supported yet (the data and Burn's kernels would still run in f32); use --precision f32",
        )
        .into());
    }
    match choice {
        BackendChoice::Ndarray => Ok(Resolved::Ndarray(precision)),
        BackendChoice::Wgpu => {
            if precision == Precision::F64 {
                return Err(UserError::new(
                    "--precision f64 is not available with --backend wgpu (f32 only); use --backend ndarray for f64",
                )
                .into());
            }
            match probe_wgpu() {
                Ok(adapter) => Ok(Resolved::Wgpu { adapter: adapter.name }),
                Err(why) => Err(UserError::new(format!(
                    "--backend wgpu: no GPU device answered ({why}). Install a Vulkan driver — on Debian/Ubuntu \
                     the software one with `{VULKAN_APT_LINE}` — or use `--backend ndarray` (CPU) or `--backend auto`"
                ))
                .into()),
            }
        }
        BackendChoice::Auto => {
            if precision == Precision::F64 {
                return Ok(Resolved::Ndarray(precision));
            }
            match probe_wgpu() {
                Ok(adapter) if adapter.is_cpu => {
                    notice(&format!(
                        "note: the only wgpu device is a CPU emulation ({}); training with --backend ndarray \
                         (pass --backend wgpu to use it anyway)",
                        adapter.name
                    ));
                    Ok(Resolved::Ndarray(precision))
                }
                Ok(adapter) => Ok(Resolved::Wgpu {
                    adapter: adapter.name,
                }),
                Err(why) => {
                    notice(&format!(
                        "note: no wgpu device ({why}); training on the CPU with --backend ndarray"
                    ));
                    Ok(Resolved::Ndarray(precision))
                }
            }
        }
    }
}

/// Runs `job` on the resolved backend: the single place where backends are named as types.
pub fn dispatch<J: BackendJob>(resolved: &Resolved, job: J) -> J::Output {
    match resolved {
        Resolved::Ndarray(Precision::F32) => job.run::<burn::backend::NdArray<f32>>(
            burn::backend::ndarray::NdArrayDevice::Cpu,
            resolved,
        ),
        Resolved::Ndarray(Precision::F64) => unreachable!("resolve rejects f64"),
        // The unit-test build of this crate leaves the wgpu instantiation out: it is the largest
        // piece of generated code here (minutes of compile time on 2 cores) and no unit test
        // trains; the binary and the integration tests keep it.
        #[cfg(all(feature = "wgpu", not(test)))]
        Resolved::Wgpu { .. } => {
            job.run::<burn::backend::Wgpu>(burn::backend::wgpu::WgpuDevice::DefaultDevice, resolved)
        }
        #[cfg(any(not(feature = "wgpu"), test))]
        Resolved::Wgpu { .. } => unreachable!(
            "probe_wgpu never succeeds without the wgpu feature (nor is wgpu dispatched in unit tests)"
        ),
    }
}

/// A wgpu adapter that answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adapter {
    /// Name, type and graphics API.
    pub name: String,
    /// Whether it is a CPU implementation (llvmpipe/lavapipe, SwiftShader).
    pub is_cpu: bool,
}

/// Whether a wgpu adapter answers, without panicking or hanging: the adapter request runs on a
/// helper thread (panics caught) and is abandoned after a timeout.
#[cfg(feature = "wgpu")]
pub fn probe_wgpu() -> Result<Adapter, String> {
    if let Ok(v) = std::env::var("CDAT_TRAIN_NO_WGPU") {
        if !v.is_empty() && v != "0" {
            return Err("disabled by CDAT_TRAIN_NO_WGPU".into());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("wgpu-probe".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(request_adapter)
                .unwrap_or_else(|_| Err("the wgpu adapter request panicked".to_string()));
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        return Err("could not start the probe thread".into());
    }
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(r) => r,
        Err(_) => Err("the wgpu adapter request did not answer within 20 s".into()),
    }
}

#[cfg(feature = "wgpu")]
fn request_adapter() -> Result<Adapter, String> {
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
    let backend = AutoGraphicsApi::backend();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
    }))
    .map_err(|e| {
        // wgpu lists every backend it did not try; keep what matters.
        let text = e.to_string();
        let parts: Vec<&str> = text
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.ends_with("not requested"))
            .collect();
        format!("no {backend:?} adapter: {}", parts.join("; "))
    })?;
    let info = adapter.get_info();
    Ok(Adapter {
        name: format!("{} — {:?}, {:?}", info.name, info.device_type, info.backend),
        is_cpu: info.device_type == wgpu::DeviceType::Cpu,
    })
}

/// Without the `wgpu` feature no GPU device is ever found.
#[cfg(not(feature = "wgpu"))]
pub fn probe_wgpu() -> Result<Adapter, String> {
    Err("this binary was built without the `wgpu` feature".into())
}

/// Drives a future to completion on this thread (wgpu's native futures are ready at once).
#[cfg(feature = "wgpu")]
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
