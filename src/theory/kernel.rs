//! §5 of Zhang et al. 2017: SGD on a linear model converges to the minimum-norm solution
//! that interpolates the data. In kernel form, f(x) = Σ_i α_i k(x_i, x) with K α = Y (Y the
//! one-hot targets); with a Gaussian kernel k(x, x') = exp(−γ‖x − x′‖²) it fits any labels,
//! and its RKHS norm √tr(αᵀ K α) does not alone say how well it generalizes.
//!
//! Two solvers, both through libtorch, chosen by the memory the problem needs
//! ([`Solver::Auto`]):
//! - `f64`: the kernel matrix in f64 and libtorch's Cholesky factor beside it, 16·n² bytes
//!   (20.7 GB at n = 36,000);
//! - `f32-refined`: the kernel matrix in f32, factored in place by a blocked Cholesky
//!   (4·n² bytes: 14.4 GB at n = 60,000), then iterative refinement: each residual
//!   Y − K α is computed in f64 from kernel blocks recomputed on the fly, and corrected
//!   through the f32 factor, until the residual stops falling. Its residuals are those of
//!   an f64 solve where K is conditioned well enough for f32 to factor it.
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

/// How `K α = Y` is solved.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// `f64` where its 16·n² bytes fit in the available memory (CUDA: always), else
    /// `f32-refined`.
    #[default]
    Auto,
    /// The f64 kernel matrix and libtorch's Cholesky.
    F64,
    /// The f32 kernel matrix factored in place, with f64 iterative refinement.
    F32Refined,
}

crate::named!(Solver, "solver", "solver");

/// Bytes of memory the solver needs for `n` training points of dimension `d` (the kernel
/// matrix, its factor, and the blocks and vectors beside them).
pub fn memory_needed(solver: Solver, n: usize, d: usize) -> u64 {
    let (n, d) = (n as u64, d as u64);
    let blocks = 2 * FACTOR_BLOCK as u64 * n * 8 + n * d * 8 + (1 << 30);
    match solver {
        Solver::F64 | Solver::Auto => 16 * n * n + blocks,
        Solver::F32Refined => 4 * n * n + blocks,
    }
}

/// `MemAvailable` of /proc/meminfo, in bytes (None where there is no such file).
pub fn available_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The solver [`Solver::Auto`] picks for `n` points of dimension `d` on `device`: f64
/// where it fits in the available memory, else f32 with refinement where that fits; else an
/// error saying how much each needs.
pub fn choose_solver(requested: Solver, n: usize, d: usize, device: Device) -> Result<Solver> {
    if requested != Solver::Auto || device != Device::Cpu {
        return Ok(if requested == Solver::Auto {
            Solver::F64
        } else {
            requested
        });
    }
    let Some(avail) = available_memory() else {
        return Ok(Solver::F64);
    };
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    for s in [Solver::F64, Solver::F32Refined] {
        if memory_needed(s, n, d) <= avail {
            return Ok(s);
        }
    }
    Err(Error::config(
        "train-size",
        format!(
            "{n} points need {:.1} GiB (f64) or {:.1} GiB (f32-refined), and {:.1} GiB is available",
            gib(memory_needed(Solver::F64, n, d)),
            gib(memory_needed(Solver::F32Refined, n, d)),
            gib(avail)
        ),
    ))
}

/// The block size of the in-place Cholesky factorization and the triangular solves.
const FACTOR_BLOCK: i64 = 2048;

fn not_positive_definite(column: i64) -> Error {
    Error::Numerical(format!(
        "the kernel matrix is not positive definite (cholesky failed at column {column}): identical or nearly identical training points; merge duplicates or lower gamma"
    ))
}

/// Factors the symmetric positive definite `a` (`[n, n]`, its lower triangle read) in place
/// into its lower Cholesky factor L, by blocks of [`FACTOR_BLOCK`] columns (right-looking:
/// each panel is solved against its diagonal block, then the lower trailing matrix is
/// updated block column by block column). Only the lower triangle of the result is L; the
/// strictly upper triangle outside the diagonal blocks keeps what `a` had there. Memory
/// beyond `a`: one panel.
pub fn cholesky_in_place(a: &mut Tensor) -> Result<()> {
    cholesky_in_place_by(a, FACTOR_BLOCK)
}

fn cholesky_in_place_by(a: &mut Tensor, b: i64) -> Result<()> {
    let n = a.size()[0];
    for k in (0..n).step_by(b as usize) {
        let kb = b.min(n - k);
        let mut akk = a.narrow(0, k, kb).narrow(1, k, kb);
        let (l, info) = akk.linalg_cholesky_ex(false, false);
        let info = info.int64_value(&[]);
        if info != 0 {
            return Err(not_positive_definite(k + info));
        }
        akk.copy_(&l);
        let rest = n - k - kb;
        if rest == 0 {
            break;
        }
        // The panel below the diagonal block: P ← P L_kkᵀ⁻¹.
        let mut panel = a.narrow(0, k + kb, rest).narrow(1, k, kb);
        let solved = l
            .transpose(0, 1)
            .linalg_solve_triangular(&panel, true, false, false);
        panel.copy_(&solved);
        drop(solved);
        // The lower trailing matrix: A_jj.. ← A_jj.. − P_j.. P_jᵀ, one block column at a time.
        for j in (0..rest).step_by(b as usize) {
            let jb = b.min(rest - j);
            let rows = panel.narrow(0, j, rest - j); // [rest - j, kb]
            let cols = panel.narrow(0, j, jb); // [jb, kb]
            let mut target = a.narrow(0, k + kb + j, rest - j).narrow(1, k + kb + j, jb);
            let _ = target.g_sub_(&rows.matmul(&cols.transpose(0, 1)));
        }
    }
    Ok(())
}

/// Solves L Lᵀ x = r for the lower factor `l` (`[n, n]`, as [`cholesky_in_place`] leaves
/// it) by blocks, in `l`'s precision; `r` is `[n, c]`.
fn cholesky_solve_blocked(l: &Tensor, r: &Tensor, b: i64) -> Tensor {
    let n = l.size()[0];
    let tri = |k: i64, kb: i64| l.narrow(0, k, kb).narrow(1, k, kb).tril(0);
    // Forward: L z = r (z a fresh copy of r in L's precision, solved in place).
    let z = r.to_kind(l.kind()).copy();
    for k in (0..n).step_by(b as usize) {
        let kb = b.min(n - k);
        let mut zk = z.narrow(0, k, kb);
        if k > 0 {
            let _ = zk.g_sub_(
                &l.narrow(0, k, kb)
                    .narrow(1, 0, k)
                    .matmul(&z.narrow(0, 0, k)),
            );
        }
        let solved = tri(k, kb).linalg_solve_triangular(&zk, false, true, false);
        zk.copy_(&solved);
    }
    // Backward: Lᵀ x = z.
    let starts: Vec<i64> = (0..n).step_by(b as usize).collect();
    for &k in starts.iter().rev() {
        let kb = b.min(n - k);
        let mut xk = z.narrow(0, k, kb);
        let below = n - k - kb;
        if below > 0 {
            let lt = l.narrow(0, k + kb, below).narrow(1, k, kb).transpose(0, 1); // [kb, below]
            let _ = xk.g_sub_(&lt.matmul(&z.narrow(0, k + kb, below)));
        }
        let solved = tri(k, kb)
            .transpose(0, 1)
            .linalg_solve_triangular(&xk, true, true, false);
        xk.copy_(&solved);
    }
    z
}

/// The most refinement steps [`fit_f32_refined`] takes.
pub const MAX_REFINEMENTS: usize = 12;

/// What [`fit_f32_refined`] found besides the interpolant.
#[derive(Debug)]
pub struct Refined {
    /// Refinement steps taken after the first f32 solve.
    pub steps: usize,
    /// The scores on the training points, `K α`, `[n, classes]` f64, for the α kept: the
    /// one with the smallest residual.
    pub train_scores: Tensor,
}

/// Solves K α = Y like [`fit`], with the kernel matrix in f32 factored in place and the
/// solution refined in f64 (see the module's doc). Keeps the α with the smallest largest
/// residual; stops at f64's own level (1e-12), when a step no longer halves the residual,
/// or after [`MAX_REFINEMENTS`] steps.
pub fn fit_f32_refined(
    x: &Tensor,
    labels: &Tensor,
    classes: i64,
    gamma: f64,
) -> Result<(Interpolant, Refined)> {
    let x = x.to_kind(Kind::Double);
    let n = x.size()[0];
    let y = labels
        .to_kind(Kind::Int64)
        .one_hot(classes)
        .to_kind(Kind::Double)
        .to_device(x.device()); // [n, classes]
                                // The lower triangle of K, in f32, computed in f64 row blocks.
    let mut k = Tensor::empty([n, n], (Kind::Float, x.device()));
    for s in (0..n).step_by(FACTOR_BLOCK as usize) {
        let sb = FACTOR_BLOCK.min(n - s);
        let block = gaussian_kernel(&x.narrow(0, s, sb), &x.narrow(0, 0, s + sb), gamma);
        k.narrow(0, s, sb).narrow(1, 0, s + sb).copy_(&block);
    }
    cholesky_in_place(&mut k)?;
    let mut f = Interpolant {
        alpha: cholesky_solve_blocked(&k, &y, FACTOR_BLOCK).to_kind(Kind::Double),
        x,
        gamma,
    };
    let mut best: Option<(f64, Tensor, Tensor)> = None; // (residual, alpha, scores)
    let mut last = f64::INFINITY;
    let mut steps = 0;
    loop {
        let scores = f.scores(&f.x);
        let r = &y - &scores;
        let worst = r.abs().max().double_value(&[]);
        if !worst.is_finite() {
            return Err(Error::Numerical(format!(
                "the refined kernel solution diverged (residual {worst}): the kernel matrix is too ill-conditioned for an f32 factor; use the f64 solver on fewer points, or a larger gamma"
            )));
        }
        if best.as_ref().is_none_or(|b| worst < b.0) {
            best = Some((worst, f.alpha.copy(), scores));
        }
        if worst < 1e-12 || worst > 0.5 * last || steps == MAX_REFINEMENTS {
            break;
        }
        last = worst;
        let d = cholesky_solve_blocked(&k, &r, FACTOR_BLOCK).to_kind(Kind::Double);
        f.alpha += d;
        steps += 1;
    }
    let (_, alpha, train_scores) = best.expect("one residual at least");
    f.alpha = alpha;
    Ok((
        f,
        Refined {
            steps,
            train_scores,
        },
    ))
}

/// The fraction of rows of `scores` whose arg-max is not the label.
pub fn error_of(scores: &Tensor, labels: &Tensor) -> f64 {
    let pred = scores.argmax(-1, false);
    1.0 - pred
        .eq_tensor(&labels.to_device(pred.device()))
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
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
        error_of(&self.scores(x), labels)
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
    fn the_blocked_in_place_cholesky_and_solve_match_libtorch() {
        tch::manual_seed(2);
        // 7 blocks of 16 and a remainder of 5; an SPD matrix with a spread spectrum.
        let n = 117;
        let m = Tensor::randn([n, n], (Kind::Double, Device::Cpu));
        let a = m.matmul(&m.transpose(0, 1)) + Tensor::eye(n, (Kind::Double, Device::Cpu));
        let want = a.linalg_cholesky(false);
        let mut l = a.copy();
        cholesky_in_place_by(&mut l, 16).unwrap();
        let diff = (l.tril(0) - &want).abs().max().double_value(&[]);
        assert!(diff < 1e-10, "{diff}");
        let r = Tensor::randn([n, 3], (Kind::Double, Device::Cpu));
        let x = cholesky_solve_blocked(&l, &r, 16);
        let back = (a.matmul(&x) - &r).abs().max().double_value(&[]);
        assert!(back < 1e-8, "{back}");
        // Not positive definite: the failing column is named (1-based, as LAPACK's info
        // and the f64 solver's message count).
        let mut bad = a.copy();
        let _ = bad.get(50).get(50).fill_(-1.0);
        let e = cholesky_in_place_by(&mut bad, 16).unwrap_err().to_string();
        assert!(e.contains("failed at column 51"), "{e}");
    }

    #[test]
    fn the_refined_f32_solve_interpolates_like_the_f64_one() {
        tch::manual_seed(3);
        let x = Tensor::rand([400, 20], (Kind::Double, Device::Cpu));
        let labels = Tensor::randint(10, [400], (Kind::Int64, Device::Cpu));
        let exact = fit(&x, &labels, 10, 0.05).unwrap();
        let (refined, info) = fit_f32_refined(&x, &labels, 10, 0.05).unwrap();
        assert!(info.steps >= 1, "f32 alone is not f64-exact here");
        assert_eq!(refined.error(&x, &labels), 0.0);
        let residual = refined.max_train_residual(&labels);
        assert!(residual < 1e-9, "{residual}");
        // The kept scores are the training scores of the kept α.
        let again = (refined.scores(&x) - &info.train_scores)
            .abs()
            .max()
            .double_value(&[]);
        assert!(again < 1e-12, "{again}");
        let tx = Tensor::rand([200, 20], (Kind::Double, Device::Cpu));
        let gap = (refined.scores(&tx) - exact.scores(&tx))
            .abs()
            .max()
            .double_value(&[]);
        assert!(gap < 1e-6, "{gap}");
        let norms = (refined.rkhs_norm(&labels), exact.rkhs_norm(&labels));
        assert!((norms.0 - norms.1).abs() < 1e-6 * norms.1, "{norms:?}");
    }

    #[test]
    fn the_solver_follows_the_memory_there_is() {
        // 60,000 Fashion-MNIST images: 57.6 GB in f64, 14.4 GB in f32, each with 3.4 GB of
        // blocks, data and headroom.
        let gb = |s| memory_needed(s, 60_000, 784) as f64 / 1e9;
        assert!(
            gb(Solver::F64) > 57.0 && gb(Solver::F64) < 62.0,
            "{}",
            gb(Solver::F64)
        );
        assert!(gb(Solver::F32Refined) < 18.0, "{}", gb(Solver::F32Refined));
        assert_eq!(
            choose_solver(Solver::Auto, 100, 784, Device::Cpu).unwrap(),
            Solver::F64
        );
        assert_eq!(
            choose_solver(Solver::F32Refined, 100, 784, Device::Cpu).unwrap(),
            Solver::F32Refined
        );
        let e = choose_solver(Solver::Auto, 10_000_000, 784, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(e.contains("GiB is available"), "{e}");
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
    /// The solver used: `f64`, or `f32-refined` where f64 did not fit in memory.
    #[serde(default)]
    pub solver: Solver,
    /// Refinement steps of the `f32-refined` solver.
    #[serde(default)]
    pub refinements: usize,
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
    /// `auto` (f64 where it fits in memory, else f32 with refinement), `f64` or
    /// `f32-refined`.
    #[serde(default)]
    pub solver: Solver,
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
            solver: Solver::Auto,
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
        solver,
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
    let ds = crate::data::Dataset::from_raw(
        &raw,
        Some(train_size),
        Some(test_size),
        crate::data::Subset::First,
        Device::Cpu,
    )?;
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
    let solver = choose_solver(solver, kept.len(), x.size()[1] as usize, device)?;
    let (f, train_scores, refinements) = match solver {
        Solver::F32Refined => {
            let (f, info) = fit_f32_refined(&x, &y, kind.classes(), gamma)?;
            (f, info.train_scores, info.steps)
        }
        Solver::F64 | Solver::Auto => {
            let f = fit(&x, &y, kind.classes(), gamma)?;
            let s = f.scores(&x);
            (f, s, 0)
        }
    };
    let tx = r
        .test
        .images
        .flatten(1, -1)
        .to_kind(Kind::Double)
        .to_device(device);
    Ok(KernelReport {
        dataset: kind.name(),
        randomization: randomization.to_string(),
        train_size,
        distinct: kept.len(),
        conflicting,
        test_size,
        gamma,
        train_error: error_of(&train_scores, &y),
        max_train_residual: (&train_scores - f.one_hot(&y))
            .abs()
            .max()
            .double_value(&[]),
        test_error: f.error(&tx, &r.test.labels),
        rkhs_norm: f.rkhs_norm(&y),
        seed,
        solver,
        refinements,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
