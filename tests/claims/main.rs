//! The paper's claims as tests: one integration-test binary, one module per claim.
//! Zhang et al. 2017, "Understanding deep learning requires rethinking generalization".
mod common;
mod libtorch;
