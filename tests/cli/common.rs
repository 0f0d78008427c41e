//! Re-exports `tests/common/` for the cli binary.
#[path = "../common/mod.rs"]
mod shared;
pub use shared::*;
