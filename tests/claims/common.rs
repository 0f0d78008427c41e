#[path = "../common/mod.rs"]
mod shared;
#[allow(unused_imports)]
pub use shared::*;
