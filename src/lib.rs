//! `rethink` reproduces Zhang, Bengio, Hardt, Recht and Vinyals, *Understanding deep learning
//! requires rethinking generalization* (ICLR 2017, arXiv:1611.03530) on libtorch.
//!
//! The paper's claims are integration tests (`tests/claims/`) that really train networks on
//! real data and assert what the paper asserts: deep nets fit random labels, shuffled and
//! random pixels and Gaussian noise; test error grows with label corruption while training
//! error still reaches zero; explicit regularizers are neither necessary nor sufficient.
//! See README.md for how to run them.
pub mod claims;
pub mod data;
pub mod error;
pub mod experiment;
pub mod fsio;
pub mod models;
pub mod names;
pub mod paper;
pub mod randomize;
pub mod record;
pub mod report;
pub mod suite;
pub mod theory;
pub mod train;

pub use error::{Error, Result};
