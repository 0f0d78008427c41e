//! Re-exports `tests/common/` for the claims binary.
#[path = "../common/mod.rs"]
mod shared;
pub use shared::*;
