//! A direction source with its record erased to bytes, so that one tuner type per rule serves
//! every base optimizer (the CLI's registry).

use burn::record::Recorder;
use burn::tensor::backend::Backend;

use super::direction::{recorder, BaseDirection};
use crate::params::ParamVec;
use crate::tuners::error::StateError;

/// A boxed direction source whose record is its own bytes: what the CLI's registry builds from
/// a [`BaseConfig`] (one tuner type per rule, whatever the base).
pub type DynBase<B> = Box<dyn BaseDirection<B, Record = Vec<u8>>>;

/// A direction source with its record erased to bytes (see [`DynBase`]).
pub struct Erased<D>(pub D);

impl<B: Backend, D: BaseDirection<B>> BaseDirection<B> for Erased<D> {
    type Record = Vec<u8>;

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        self.0.propose(w, g)
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        self.0.accept(eta)
    }

    fn reject(&mut self) {
        self.0.reject()
    }

    fn to_record(&self) -> Vec<u8> {
        Recorder::<B>::record(&recorder(), self.0.to_record(), ())
            .expect("encoding a base-optimizer record cannot fail")
    }

    fn load_record(&mut self, bytes: Vec<u8>) -> Result<(), StateError> {
        let record = Recorder::<B>::load(&recorder(), bytes, &Default::default())
            .map_err(|e| StateError::Decode(format!("{} state: {e}", self.0.name())))?;
        self.0.load_record(record)
    }
}

impl<B: Backend> BaseDirection<B> for DynBase<B> {
    type Record = Vec<u8>;

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        (**self).propose(w, g)
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        (**self).accept(eta)
    }

    fn reject(&mut self) {
        (**self).reject()
    }

    fn to_record(&self) -> Vec<u8> {
        (**self).to_record()
    }

    fn load_record(&mut self, record: Vec<u8>) -> Result<(), StateError> {
        (**self).load_record(record)
    }
}
