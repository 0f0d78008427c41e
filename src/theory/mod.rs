//! The paper's two theory results: finite-sample expressivity (§4, Theorem 1) and the
//! minimum-norm interpolating solution of linear/kernel models (§5).
pub mod expressivity;
pub mod kernel;

use crate::error::{Error, Result};
use serde::Deserialize;
use std::sync::OnceLock;

/// golden/theory.json, compiled in.
pub const THEORY_FILE: &str = "golden/theory.json";
const THEORY: &str = include_str!("../../golden/theory.json");

/// A threshold a theory test holds its measurement to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub why: String,
    pub measured: Vec<f64>,
}

impl Limit {
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// Every theory band, by name: one the file lacks or one it has that is not known here is an
/// error when the file is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub theorem_max_abs_residual: Limit,
    pub theorem_gaussian_max_rel_residual: Limit,
    pub kernel_max_train_residual: Limit,
    pub kernel_true_test_error: Limit,
    pub kernel_random_chance_sigmas: Limit,
    pub kernel_norm_ratio: Limit,
}

/// The experiments the theory tests run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    #[allow(dead_code)]
    why: String,
    pub theorem_images: expressivity::TheoremConfig,
    pub theorem_gaussian: expressivity::TheoremConfig,
    /// Run with true and with random labels.
    pub kernel: kernel::KernelConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TheoryFile {
    #[allow(dead_code)]
    provenance: serde_json::Value,
    #[allow(dead_code)]
    theorem_section4: serde_json::Value,
    #[allow(dead_code)]
    kernel_section5: serde_json::Value,
    tests: Tests,
    bands: Bands,
}

fn file() -> Result<&'static TheoryFile> {
    static FILE: OnceLock<std::result::Result<TheoryFile, String>> = OnceLock::new();
    FILE.get_or_init(|| serde_json::from_str(THEORY).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::format(THEORY_FILE, format!("invalid json: {e}")))
}

/// The theory bands of golden/theory.json.
pub fn bands() -> Result<&'static Bands> {
    Ok(&file()?.bands)
}

/// The theory tests' experiments, from golden/theory.json.
pub fn tests() -> Result<&'static Tests> {
    Ok(&file()?.tests)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_theory_file_reads_into_its_types() {
        let b = super::bands().unwrap();
        assert!(b.kernel_norm_ratio.contains(2.0) && !b.kernel_norm_ratio.contains(1.0));
        assert_eq!(super::tests().unwrap().theorem_images.n, 5000);
    }
}
