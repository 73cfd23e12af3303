//! Saving and restoring a tuner's state mid-run as a Burn record (named MessagePack, f64
//! precision: bitwise round trips for f32 and f64 backends).
//!
//! The record holds the tuner's name, the number of accepted steps, its scalars (EMAs,
//! previous η, ...) and vectors (previous direction, eigenvector) by name, and the base
//! optimizer's per-parameter state (itself a Burn record, keyed by `ParamId`).

use burn::module::ParamId;
use burn::record::{Record, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::base::recorder;
use crate::params::ParamVec;

/// Why a saved state could not be restored.
#[derive(Clone, Debug, PartialEq)]
pub enum StateError {
    /// The bytes are not a tuner record.
    Decode(String),
    /// The record belongs to another tuner or base optimizer.
    Mismatch {
        /// What differs (`"tuner"` or `"base optimizer"`).
        what: &'static str,
        /// This tuner's.
        expected: String,
        /// The record's.
        found: String,
    },
    /// A value the tuner needs is absent from the record.
    Missing(String),
}

impl core::fmt::Display for StateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StateError::Decode(e) => write!(f, "cannot decode tuner state: {e}"),
            StateError::Mismatch {
                what,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tuner state is for {what} `{found}`, this one is `{expected}`"
                )
            }
            StateError::Missing(name) => write!(f, "tuner state lacks `{name}`"),
        }
    }
}

impl std::error::Error for StateError {}

/// Named parameter-space vectors as stored in a record: `(name, [(ParamId, flattened tensor)])`.
pub type VectorsRecord<B> = Vec<(String, Vec<(String, Tensor<B, 1>)>)>;

/// The whole state of a tuner, as saved by `Tuner::save_state`.
#[derive(Record, Clone)]
pub struct TunerRecord<B: Backend> {
    /// The tuner's name (`"cdat"`, ...).
    pub tuner: String,
    /// The base optimizer's name (`"adam"`, ...).
    pub base: String,
    /// Accepted steps so far.
    pub steps: usize,
    /// Named scalars of the rule.
    pub scalars: Vec<(String, f64)>,
    /// Named parameter-space vectors of the rule: `(ParamId, flattened tensor)` pairs in order.
    pub vectors: VectorsRecord<B>,
    /// The base optimizer's record (its own bytes).
    pub base_state: Vec<u8>,
}

impl<B: Backend> TunerRecord<B> {
    /// Encodes the record.
    pub fn to_bytes(self) -> Vec<u8> {
        Recorder::<B>::record(&recorder(), self, ()).expect("encoding a tuner record cannot fail")
    }

    /// Decodes a record (tensors on the default device).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        Recorder::<B>::load(&recorder(), bytes.to_vec(), &Default::default())
            .map_err(|e| StateError::Decode(e.to_string()))
    }
}

/// A rule's own state: named scalars and vectors.
#[derive(Clone, Debug)]
pub struct RuleState<B: Backend> {
    /// Named scalars.
    pub scalars: Vec<(String, f64)>,
    /// Named vectors (absent ones are simply not stored).
    pub vectors: Vec<(String, ParamVec<B>)>,
}

impl<B: Backend> Default for RuleState<B> {
    fn default() -> Self {
        Self {
            scalars: Vec::new(),
            vectors: Vec::new(),
        }
    }
}

impl<B: Backend> RuleState<B> {
    /// Stores a scalar.
    pub fn put(&mut self, name: &str, value: f64) {
        self.scalars.push((name.to_string(), value));
    }

    /// Stores a vector, if present.
    pub fn put_vec(&mut self, name: &str, value: Option<&ParamVec<B>>) {
        if let Some(v) = value {
            self.vectors.push((name.to_string(), v.clone()));
        }
    }

    /// A stored scalar.
    pub fn get(&self, name: &str) -> Result<f64, StateError> {
        self.scalars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| StateError::Missing(name.to_string()))
    }

    /// A stored vector, or `None` when it was absent at save time.
    pub fn get_vec(&self, name: &str) -> Option<ParamVec<B>> {
        self.vectors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn into_record_parts(self) -> (Vec<(String, f64)>, VectorsRecord<B>) {
        let vectors = self
            .vectors
            .into_iter()
            .map(|(name, v)| {
                (
                    name,
                    v.entries()
                        .iter()
                        .map(|(id, t)| (id.serialize(), t.clone()))
                        .collect(),
                )
            })
            .collect();
        (self.scalars, vectors)
    }

    pub(crate) fn from_record_parts(
        scalars: Vec<(String, f64)>,
        vectors: VectorsRecord<B>,
    ) -> Self {
        let vectors = vectors
            .into_iter()
            .map(|(name, entries)| {
                let entries = entries
                    .into_iter()
                    .map(|(id, t)| (ParamId::deserialize(&id), t))
                    .collect();
                (name, ParamVec::from_entries(entries))
            })
            .collect();
        Self { scalars, vectors }
    }
}

/// Moves a vector onto the device of `like`'s first entry (restored vectors live on the default
/// device).
pub(crate) fn on_device_of<B: Backend>(v: ParamVec<B>, like: &ParamVec<B>) -> ParamVec<B> {
    match like.entries().first() {
        Some((_, t)) => {
            let device = t.device();
            v.map(|x| x.to_device(&device))
        }
        None => v,
    }
}
