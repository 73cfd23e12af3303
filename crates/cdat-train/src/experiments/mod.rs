//! The experiment commands built on the run layer: [`sweep`] (a grid of runs and its table),
//! [`reproduce`] (the runs of a [`plan`], then the [`report`] of the paper's claims) and
//! [`simulate`] (the paper's simplified model of learning rate and sharpness); [`archive`]
//! reduces a finished run to the files the repository keeps.

pub mod archive;
pub mod plan;
pub mod report;
pub mod reproduce;
pub mod simulate;
pub mod sweep;
