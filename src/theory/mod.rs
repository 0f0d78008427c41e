//! The paper's two theory results: finite-sample expressivity (§4, Theorem 1) and the
//! minimum-norm interpolating solution of linear/kernel models (§5).
pub mod expressivity;
pub mod kernel;
