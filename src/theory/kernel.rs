//! §5 of Zhang et al. 2017: SGD on a linear model converges to the minimum-norm solution
//! that interpolates the data. In kernel form, f(x) = Σ_i α_i k(x_i, x) with K α = Y (Y the
//! one-hot targets); with a Gaussian kernel k(x, x') = exp(−γ‖x − x′‖²) it fits any labels,
//! and its RKHS norm √tr(αᵀ K α) does not alone say how well it generalizes.
//!
//! Everything is computed in f64 through libtorch (distance matrix, Cholesky solve).
use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// The reference reproduction's bandwidth on pixels scaled to [0, 1].
pub const DEFAULT_GAMMA: f64 = 0.02;

/// The minimum-norm interpolating solution.
#[derive(Debug)]
pub struct Interpolant {
    /// Training points `[n, d]`, f64.
    pub x: Tensor,
    /// Coefficients `[n, classes]`, f64.
    pub alpha: Tensor,
    pub gamma: f64,
}

/// The kernel matrix `exp(-γ ‖a_i − b_j‖²)`, `[n, m]`, f64.
pub fn gaussian_kernel(a: &Tensor, b: &Tensor, gamma: f64) -> Tensor {
    // ‖a‖² + ‖b‖² − 2 a·b, clamped at 0 against rounding.
    // In place after the product, so that one [n, m] matrix is alive at a time.
    let an = (a * a).sum_dim_intlist(1, true, Kind::Double); // [n, 1]
    let bn = (b * b)
        .sum_dim_intlist(1, true, Kind::Double)
        .transpose(0, 1); // [1, m]
    let mut k = a.matmul(&b.transpose(0, 1)); // [n, m]
    let _ = k.g_mul_scalar_(-2.0);
    let _ = k.g_add_(&an);
    let _ = k.g_add_(&bn);
    let _ = k.clamp_min_(0.0);
    let _ = k.g_mul_scalar_(-gamma);
    let _ = k.exp_();
    k
}

/// Solves K α = Y for `x` (`[n, d]`) and labels (`[n]`, in `0..classes`) by Cholesky.
/// Fails when K is not numerically positive definite (identical points: merge them first).
pub fn fit(x: &Tensor, labels: &Tensor, classes: i64, gamma: f64) -> Result<Interpolant> {
    let x = x.to_kind(Kind::Double);
    let y = labels
        .to_kind(Kind::Int64)
        .one_hot(classes)
        .to_kind(Kind::Double); // [n, classes]
    let k = gaussian_kernel(&x, &x, gamma); // [n, n]
    let (l, info) = k.linalg_cholesky_ex(false, false);
    drop(k);
    let info = info.int64_value(&[]);
    if info != 0 {
        return Err(Error::Numerical(format!(
            "the kernel matrix is not positive definite (cholesky failed at column {info}): identical or nearly identical training points; merge duplicates or lower gamma"
        )));
    }
    let alpha = y.cholesky_solve(&l, false); // [n, classes]
    Ok(Interpolant { x, alpha, gamma })
}

impl Interpolant {
    /// Scores `[m, classes]` for points `[m, d]`, computed in blocks to bound memory.
    pub fn scores(&self, x: &Tensor) -> Tensor {
        let x = x.to_kind(Kind::Double);
        let m = x.size()[0];
        let block = 2048;
        let parts: Vec<Tensor> = (0..m)
            .step_by(block as usize)
            .map(|s| {
                let xb = x.narrow(0, s, block.min(m - s));
                gaussian_kernel(&xb, &self.x, self.gamma).matmul(&self.alpha)
            })
            .collect();
        Tensor::cat(&parts, 0)
    }

    /// The fraction of points whose arg-max score is not their label.
    pub fn error(&self, x: &Tensor, labels: &Tensor) -> f64 {
        let pred = self.scores(x).argmax(-1, false);
        1.0 - pred
            .eq_tensor(&labels.to_device(pred.device()))
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[])
    }

    /// The largest |f(x_i) − y_i| over the training set: how exactly it interpolates.
    pub fn max_train_residual(&self, labels: &Tensor) -> f64 {
        (self.scores(&self.x) - self.one_hot(labels))
            .abs()
            .max()
            .double_value(&[])
    }

    /// The RKHS norm √tr(αᵀ K α), computed as √tr(αᵀ Y) since K α = Y.
    pub fn rkhs_norm(&self, labels: &Tensor) -> f64 {
        (&self.alpha * self.one_hot(labels))
            .sum(Kind::Double)
            .double_value(&[])
            .sqrt()
    }

    /// The targets Y: one-hot rows, f64, on the solution's device.
    fn one_hot(&self, labels: &Tensor) -> Tensor {
        labels
            .to_kind(Kind::Int64)
            .one_hot(self.alpha.size()[1])
            .to_kind(Kind::Double)
            .to_device(self.x.device())
    }

    pub fn device(&self) -> Device {
        self.x.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_any_labels_and_the_norm_matches_its_definition() {
        tch::manual_seed(1);
        let x = Tensor::rand([60, 5], (Kind::Double, Device::Cpu));
        let labels = Tensor::randint(4, [60], (Kind::Int64, Device::Cpu));
        let f = fit(&x, &labels, 4, 0.5).unwrap();
        assert_eq!(f.error(&x, &labels), 0.0);
        assert!(f.max_train_residual(&labels) < 1e-6);
        let k = gaussian_kernel(&f.x, &f.x, 0.5);
        let direct = f
            .alpha
            .transpose(0, 1)
            .matmul(&k)
            .matmul(&f.alpha)
            .trace()
            .double_value(&[])
            .sqrt();
        assert!((direct - f.rkhs_norm(&labels)).abs() < 1e-6 * direct);
    }

    #[test]
    fn duplicate_points_are_an_error_not_a_wrong_solution() {
        let x = Tensor::from_slice(&[0.0f64, 1.0, 0.0, 1.0, 2.0, 2.0]).view([3, 2]);
        let labels = Tensor::from_slice(&[0i64, 1, 1]);
        let e = fit(&x, &labels, 2, 0.1).unwrap_err().to_string();
        assert!(e.contains("not positive definite"), "{e}");
    }

    #[test]
    fn kernel_matches_the_formula() {
        let a = Tensor::from_slice(&[0.0f64, 0.0, 1.0, 2.0]).view([2, 2]);
        let k = gaussian_kernel(&a, &a, 0.3);
        assert!((k.double_value(&[0, 1]) - (-0.3f64 * 5.0).exp()).abs() < 1e-15);
        assert_eq!(k.double_value(&[1, 1]), 1.0);
    }
}

/// What `rethink kernel` reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KernelReport {
    pub dataset: String,
    pub randomization: String,
    pub train_size: usize,
    /// Distinct training images (identical ones merged; the kernel matrix needs them distinct).
    pub distinct: usize,
    /// Merged duplicates whose labels differed: no interpolant fits both.
    pub conflicting: usize,
    pub test_size: usize,
    pub gamma: f64,
    /// On the distinct training images; 0 when the solution interpolates.
    pub train_error: f64,
    pub max_train_residual: f64,
    pub test_error: f64,
    pub rkhs_norm: f64,
    pub seed: u64,
    pub wall_s: f64,
}

/// A §5 experiment: the minimum-norm interpolant of the first `train_size` images of a data
/// set (pixels in [0, 1], labels randomized), measured on the first `test_size` test images.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelConfig {
    pub dataset: crate::data::DatasetKind,
    pub train_size: usize,
    pub test_size: usize,
    /// true-labels, random-labels or corrupt:P.
    pub randomization: crate::randomize::Randomization,
    /// Bandwidth of k(x, x') = exp(-gamma |x - x'|^2).
    pub gamma: f64,
    pub seed: u64,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            dataset: crate::data::DatasetKind::FashionMnist,
            train_size: 2000,
            test_size: 2000,
            randomization: crate::randomize::Randomization::TrueLabels,
            gamma: DEFAULT_GAMMA,
            seed: 0,
        }
    }
}

impl KernelConfig {
    /// Runs the experiment with data found the default way (or under `data_dir`).
    pub fn run(&self, data_dir: Option<&std::path::Path>, device: Device) -> Result<KernelReport> {
        experiment(self, data_dir, device)
    }
}

/// Fits the minimum-norm interpolant that `cfg` describes and measures it.
pub fn experiment(
    cfg: &KernelConfig,
    data_dir: Option<&std::path::Path>,
    device: Device,
) -> Result<KernelReport> {
    let KernelConfig {
        dataset: kind,
        train_size,
        test_size,
        randomization,
        gamma,
        seed,
    } = *cfg;
    let start = std::time::Instant::now();
    if !(gamma > 0.0 && gamma.is_finite()) {
        return Err(Error::config(
            "gamma",
            format!("{gamma} is not a positive finite bandwidth"),
        ));
    }
    if !matches!(
        randomization,
        crate::randomize::Randomization::TrueLabels
            | crate::randomize::Randomization::RandomLabels
            | crate::randomize::Randomization::Corrupt(_)
    ) {
        return Err(Error::config(
            "randomization",
            "the kernel experiment randomizes labels only",
        ));
    }
    let raw = crate::data::load(kind, data_dir)?;
    let ds = crate::data::Dataset::from_raw(&raw, Some(train_size), Some(test_size), Device::Cpu)?;
    let r = crate::randomize::apply(&ds.train, &ds.test, randomization, kind.classes(), seed)?;
    // Merge identical training images (byte-identical in the file).
    let n = train_size as i64;
    let bytes = Vec::<u8>::try_from(raw.train.images.narrow(0, 0, n).reshape([-1]))?;
    let labels = Vec::<i64>::try_from(&r.train.labels)?;
    let per = bytes.len() / train_size;
    let mut first: std::collections::HashMap<&[u8], i64> = std::collections::HashMap::new();
    let (mut kept, mut conflicting) = (Vec::new(), 0);
    for (i, img) in bytes.chunks(per).enumerate() {
        match first.get(img) {
            None => {
                first.insert(img, labels[i]);
                kept.push(i as i64);
            }
            Some(&l) if l != labels[i] => conflicting += 1,
            Some(_) => {}
        }
    }
    let idx = Tensor::from_slice(&kept);
    let x = r
        .train
        .images
        .index_select(0, &idx)
        .flatten(1, -1)
        .to_kind(Kind::Double)
        .to_device(device);
    let y = r.train.labels.index_select(0, &idx).to_device(device);
    let f = fit(&x, &y, kind.classes(), gamma)?;
    let tx = r
        .test
        .images
        .flatten(1, -1)
        .to_kind(Kind::Double)
        .to_device(device);
    Ok(KernelReport {
        dataset: kind.name().into(),
        randomization: randomization.to_string(),
        train_size,
        distinct: kept.len(),
        conflicting,
        test_size,
        gamma,
        train_error: f.error(&x, &y),
        max_train_residual: f.max_train_residual(&y),
        test_error: f.error(&tx, &r.test.labels),
        rkhs_norm: f.rkhs_norm(&y),
        seed,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
