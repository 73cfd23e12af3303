//! [`AllReduce`] on Burn's collective operations (`burn::collective`, local mode: the peers are
//! threads of one process, one device each). A peer registers with its id and the number of
//! peers; every peer must then step its tuner the same number of times, in lockstep.
//!
//! ```no_run
//! use burn::backend::NdArray;
//! use burn::optim::AdamConfig;
//! use cdat_core::tuners::{CdatConfig, Collective, RuleConfig};
//!
//! // On each of the 2 peer threads, with `id` = 0 or 1 and its shard of the data:
//! # let id = 0;
//! let peers = Collective::<NdArray>::register(id, 2, Default::default()).unwrap();
//! let tuner = CdatConfig::new().init::<NdArray, _>(AdamConfig::new()).with_all_reduce(peers);
//! ```

use burn::collective::{
    all_reduce, finish_collective, register, CollectiveConfig, CollectiveError, PeerId,
    ReduceOperation,
};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData, TensorPrimitive};

use super::peers::AllReduce;
use crate::params::ParamVec;

/// One peer of a local collective (see the module docs); leaves it when dropped.
pub struct Collective<B: Backend> {
    id: PeerId,
    device: B::Device,
}

impl<B: Backend> Collective<B> {
    /// Joins the collective of `peers` peers as peer `id` (`0 ≤ id < peers`) on `device`.
    pub fn register(id: u32, peers: usize, device: B::Device) -> Result<Self, CollectiveError> {
        if peers == 0 || id as usize >= peers {
            return Err(CollectiveError::Other(format!(
                "peer id {id} out of range for {peers} peers"
            )));
        }
        let id = PeerId::from(id);
        register::<B>(
            id,
            device.clone(),
            CollectiveConfig::default().with_num_devices(peers),
        )?;
        Ok(Self { id, device })
    }

    fn mean_tensor(&self, t: Tensor<B, 1>) -> Tensor<B, 1> {
        let reduced = all_reduce::<B>(self.id, t.into_primitive().tensor(), ReduceOperation::Mean)
            .unwrap_or_else(|e| panic!("all-reduce across peers failed: {e:?}"));
        Tensor::from_primitive(TensorPrimitive::Float(reduced))
    }
}

impl<B: Backend> AllReduce<B> for Collective<B> {
    fn mean(&self, v: ParamVec<B>) -> ParamVec<B> {
        ParamVec::from_entries(
            v.entries()
                .iter()
                .map(|(id, t)| (*id, self.mean_tensor(t.clone())))
                .collect(),
        )
    }

    fn mean_scalar(&self, x: f64) -> f64 {
        let t = Tensor::<B, 1>::from_data(TensorData::from([x]), &self.device);
        self.mean_tensor(t).into_scalar().elem::<f64>()
    }
}

impl<B: Backend> Drop for Collective<B> {
    fn drop(&mut self) {
        let _ = finish_collective::<B>(self.id);
    }
}
