//! Theorem 1 of Zhang et al. 2017 (§4): there is a two-layer ReLU network with 2n + d weights
//! that can represent any function on a sample of n points in d dimensions.
//!
//! The constructive proof, in f64:
//! 1. choose a vector `a` so that the projections z_i = ⟨a, x_i⟩ are distinct;
//! 2. choose biases interleaving the sorted projections, b_1 < z_1 < b_2 < … < b_n < z_n;
//! 3. solve the lower-triangular system A w = y, A_ij = max(z_i − b_j, 0), by forward
//!    substitution;
//! 4. c(x) = Σ_j w_j · max(⟨a, x⟩ − b_j, 0) then has d + n + n weights and c(x_i) = y_i.
//!
//! Identical points cannot have distinct projections: they are reported (and, when their
//! targets agree, may be merged first with [`dedup`]), never silently mis-fitted. Near-ties
//! are handled by drawing several directions and keeping the best separated one; the
//! smallest gap between projections is reported as the conditioning.
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::HashMap;

/// A two-layer ReLU network c(x) = Σ_j w_j · max(⟨a, x⟩ − b_j, 0).
#[derive(Debug, Clone)]
pub struct Network {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub w: Vec<f64>,
}

impl Network {
    /// d + n + n.
    pub fn weights(&self) -> usize {
        self.a.len() + self.b.len() + self.w.len()
    }

    /// Evaluates the network on one point (summing in bias order).
    pub fn eval(&self, x: &[f64]) -> f64 {
        let z = dot(&self.a, x);
        self.b
            .iter()
            .zip(&self.w)
            .map(|(b, w)| w * (z - b).max(0.0))
            .sum()
    }

    /// Σ_j |w_j · max(⟨a, x⟩ − b_j, 0)|: the size of the terms [`Network::eval`] adds up,
    /// which bounds its rounding error (about n·ε times this for n terms).
    pub fn term_magnitude(&self, x: &[f64]) -> f64 {
        let z = dot(&self.a, x);
        self.b
            .iter()
            .zip(&self.w)
            .map(|(b, w)| (w * (z - b).max(0.0)).abs())
            .sum()
    }
}

/// How the construction went.
#[derive(Debug, Clone)]
pub struct Fit {
    pub network: Network,
    /// The smallest gap between consecutive sorted projections, relative to their range.
    pub min_relative_gap: f64,
    /// Directions drawn before one separated the points well enough.
    pub attempts: usize,
}

fn dot(a: &[f64], x: &[f64]) -> f64 {
    a.iter().zip(x).map(|(a, x)| a * x).sum()
}

/// Groups of identical points (row indices), only groups of two or more.
pub fn duplicate_groups(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let mut by_bits: HashMap<Vec<u64>, Vec<usize>> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        by_bits
            .entry(p.iter().map(|v| v.to_bits()).collect())
            .or_default()
            .push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_bits.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    groups
}

/// The outcome of merging identical points.
#[derive(Debug, Clone, Default)]
pub struct Dedup {
    /// Indices of the points kept (the first of each group of identical points).
    pub kept: Vec<usize>,
    /// Points dropped because an identical earlier point has the same target.
    pub merged: usize,
    /// Points dropped because an identical earlier point has a different target: no
    /// function can fit both.
    pub conflicting: usize,
}

/// Keeps the first of every group of identical points.
pub fn dedup(points: &[Vec<f64>], targets: &[f64]) -> Dedup {
    let mut first: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut out = Dedup::default();
    for (i, p) in points.iter().enumerate() {
        match first.entry(p.iter().map(|v| v.to_bits()).collect()) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
                out.kept.push(i);
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                if targets[*e.get()] == targets[i] {
                    out.merged += 1;
                } else {
                    out.conflicting += 1;
                }
            }
        }
    }
    out
}

/// A direction's smallest relative gap, the direction, and the sorted (projection, index).
type Candidate = (f64, Vec<f64>, Vec<(f64, usize)>);

/// Builds the network of Theorem 1 for `points` (n rows of d values) and `targets`.
///
/// Fails, naming the points, when two are identical (no direction separates them), and
/// fails when no direction among those drawn separates the projections by more than
/// `1e-12` of their range (the system would be too ill-conditioned to trust).
pub fn construct(points: &[Vec<f64>], targets: &[f64], seed: u64) -> Result<Fit> {
    let n = points.len();
    if n == 0 || n != targets.len() {
        return Err(Error::config(
            "points",
            format!("{n} points for {} targets", targets.len()),
        ));
    }
    let d = points[0].len();
    if let Some(i) = points.iter().position(|p| p.len() != d) {
        return Err(Error::config(
            "points",
            format!(
                "point {i} has {} coordinates, point 0 has {d}",
                points[i].len()
            ),
        ));
    }
    if let Some(g) = duplicate_groups(points).first() {
        return Err(Error::Numerical(format!(
            "points {g:?} are identical, so no direction separates them{}; merge them first (theory::expressivity::dedup)",
            if g.iter().any(|&i| targets[i] != targets[g[0]]) { " and their targets differ: no function fits them" } else { "" }
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<Candidate> = None;
    let mut attempts = 0;
    for _ in 0..8 {
        attempts += 1;
        let a: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let mut z: Vec<(f64, usize)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (dot(&a, p), i))
            .collect();
        z.sort_by(|p, q| p.0.total_cmp(&q.0));
        let range = (z[n - 1].0 - z[0].0).abs().max(f64::MIN_POSITIVE);
        let gap = z
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold(f64::INFINITY, f64::min)
            / range;
        let gap = if n == 1 { 1.0 } else { gap };
        if best.as_ref().is_none_or(|b| gap > b.0) {
            best = Some((gap, a, z));
        }
        if gap > 1e-9 / n as f64 {
            break;
        }
    }
    let (gap, a, z) = best.expect("at least one direction");
    if gap <= 1e-12 {
        return Err(Error::Numerical(format!(
            "projections nearly tie (smallest gap {gap:.1e} of their range after {attempts} directions): the system is too ill-conditioned"
        )));
    }
    // Biases: half-way between consecutive projections; the first one below z_1 by the
    // smallest gap, so A's diagonal A_ii = z_i - b_i is never tiny relative to its row.
    let zs: Vec<f64> = z.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = z.iter().map(|p| targets[p.1]).collect();
    let first_gap = if n > 1 { zs[1] - zs[0] } else { 1.0 };
    let mut b = Vec::with_capacity(n);
    b.push(zs[0] - first_gap.max(f64::EPSILON * zs[0].abs()));
    for i in 1..n {
        b.push(0.5 * (zs[i - 1] + zs[i]));
    }
    // Forward substitution: w_i = (y_i - Σ_{j<i} w_j (z_i - b_j)) / (z_i - b_i).
    let mut w = vec![0.0; n];
    for i in 0..n {
        let partial: f64 = (0..i).map(|j| w[j] * (zs[i] - b[j])).sum();
        w[i] = (ys[i] - partial) / (zs[i] - b[i]);
    }
    Ok(Fit {
        network: Network { a, b, w },
        min_relative_gap: gap,
        attempts,
    })
}

/// The largest |c(x_i) − y_i| over the points, and the largest relative to max(|y_i|, 1).
pub fn residuals(net: &Network, points: &[Vec<f64>], targets: &[f64]) -> (f64, f64) {
    points
        .iter()
        .zip(targets)
        .fold((0.0, 0.0), |(abs, rel), (p, &y)| {
            let r = (net.eval(p) - y).abs();
            (f64::max(abs, r), f64::max(rel, r / y.abs().max(1.0)))
        })
}

/// What [`TheoremReport`]'s residuals come from.
pub const RESIDUAL_EVALUATION: &str = "an f64 matrix product in libtorch (relu(X a - b) w), independent of the construction's own summation order";

/// The network's outputs on `points`, computed independently of [`Network::eval`]: the
/// projections and the hidden layer as f64 matrix products in libtorch, in blocks of rows.
pub fn outputs_by_matmul(net: &Network, points: &[Vec<f64>]) -> Vec<f64> {
    use tch::{Kind, Tensor};
    let d = net.a.len() as i64;
    let a = Tensor::from_slice(&net.a).reshape([d, 1]);
    let b = Tensor::from_slice(&net.b).reshape([1, -1]);
    let w = Tensor::from_slice(&net.w).reshape([-1, 1]);
    let mut out = Vec::with_capacity(points.len());
    for block in points.chunks(256) {
        let flat: Vec<f64> = block.iter().flatten().copied().collect();
        let x = Tensor::from_slice(&flat).reshape([block.len() as i64, d]);
        let h = (x.matmul(&a) - &b).relu();
        let y = h.matmul(&w).reshape([-1]).to_kind(Kind::Double);
        out.extend(Vec::<f64>::try_from(y).expect("an f64 vector"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_independent_evaluation_computes_the_same_network() {
        // Small integers: every product and sum is exact in either order.
        let net = Network {
            a: vec![1.0, 2.0],
            b: vec![0.0, 3.0, 5.0],
            w: vec![1.0, -2.0, 4.0],
        };
        let pts = vec![
            vec![0.0, 0.0],
            vec![1.0, 1.0],
            vec![2.0, 2.0],
            vec![-1.0, 3.0],
        ];
        let direct: Vec<f64> = pts.iter().map(|p| net.eval(p)).collect();
        assert_eq!(outputs_by_matmul(&net, &pts), direct);
        assert_eq!(direct, vec![0.0, 3.0, 6.0 - 6.0 + 4.0, 5.0 - 4.0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random point sets (distinct projections with probability 1) and arbitrary targets
        /// are fitted with exactly 2n + d weights, exactly up to floating-point rounding: the
        /// residual stays within 4·n·ε of the size of the terms summed (the standard bound
        /// for a sum of n terms, doubled for the forward substitution that made them). A
        /// fixed 1e-9 tolerance failed on rare point sets whose close projections make the
        /// terms large (n = 54, d = 11: 2.1e-9 on a target of 0.53).
        #[test]
        fn fits_any_targets_with_2n_plus_d_weights(
            n in 1usize..60,
            d in 1usize..12,
            seed in any::<u64>(),
            scale in prop_oneof![Just(1e-3), Just(1.0), Just(1e3)],
        ) {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let pts: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| StandardNormal.sample(&mut r)).collect()).collect();
            let ys: Vec<f64> = (0..n).map(|_| scale * Distribution::<f64>::sample(&StandardNormal, &mut r)).collect();
            let fit = construct(&pts, &ys, seed).unwrap();
            prop_assert_eq!(fit.network.weights(), 2 * n + d);
            for (p, y) in pts.iter().zip(&ys) {
                let got = fit.network.eval(p);
                let bound = 4.0 * n as f64 * f64::EPSILON * fit.network.term_magnitude(p).max(y.abs());
                prop_assert!((got - y).abs() <= bound, "c(x) = {} for y = {} (bound {:e})", got, y, bound);
            }
        }
    }

    #[test]
    fn identical_points_with_different_targets_are_reported_not_misfitted() {
        let pts = vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![1.0, 2.0]];
        let e = construct(&pts, &[0.0, 1.0, 5.0], 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("points [0, 2] are identical")
                && e.contains("targets differ: no function fits them"),
            "{e}"
        );
        let e = construct(&pts, &[0.0, 1.0, 0.0], 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("points [0, 2] are identical") && !e.contains("targets differ"),
            "{e}"
        );
        let dd = dedup(&pts, &[0.0, 1.0, 5.0]);
        assert_eq!((dd.kept, dd.merged, dd.conflicting), (vec![0, 1], 0, 1));
        let dd = dedup(&pts, &[0.0, 1.0, 0.0]);
        assert_eq!((dd.kept.len(), dd.merged, dd.conflicting), (2, 1, 0));
    }

    #[test]
    fn near_ties_fail_loudly() {
        // Points differing by far less than f64 resolution of their projections.
        let pts = vec![vec![1.0e12], vec![1.0e12 + 1e-3]];
        let e = construct(&pts, &[0.0, 1.0], 0);
        match e {
            Err(e) => assert!(e.to_string().contains("ill-conditioned"), "{e}"),
            Ok(fit) => {
                let (abs, _) = residuals(&fit.network, &pts, &[0.0, 1.0]);
                assert!(abs < 1e-6, "a fit was returned with residual {abs}");
            }
        }
    }
}

/// What `rethink theorem` reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TheoremReport {
    /// "gaussian" or a data set name.
    pub points: String,
    pub n: usize,
    pub d: usize,
    /// Points merged into an identical earlier one with the same target.
    pub merged: usize,
    /// Points identical to an earlier one with a different target: no function fits both.
    pub conflicting: usize,
    /// 2·(distinct points) + d.
    pub weights: usize,
    /// The largest |c(x_i) − y_i| over the distinct points, from [`outputs_by_matmul`].
    pub max_abs_residual: f64,
    /// The same relative to max(|y_i|, 1).
    pub max_rel_residual: f64,
    /// How the residuals were evaluated ([`RESIDUAL_EVALUATION`]).
    pub residual_evaluation: String,
    /// The residual in the construction's own summation order ([`Network::eval`]), for
    /// comparison: optimistic, since its rounding follows the forward substitution's.
    pub max_abs_residual_construction_order: f64,
    /// With class targets (labels read from the independent evaluation): the fraction of the distinct points whose rounded output is
    /// their label, and of all n points.
    pub class_acc_distinct: Option<f64>,
    pub class_acc_all: Option<f64>,
    pub min_relative_gap: f64,
    pub seed: u64,
    pub construct_s: f64,
    pub wall_s: f64,
}

/// Runs the construction on `points` with `targets`; `classes` says the targets are labels.
pub fn report(
    name: &str,
    points: &[Vec<f64>],
    targets: &[f64],
    classes: bool,
    seed: u64,
) -> Result<TheoremReport> {
    let start = std::time::Instant::now();
    let dd = dedup(points, targets);
    let kept_pts: Vec<Vec<f64>> = dd.kept.iter().map(|&i| points[i].clone()).collect();
    let kept_y: Vec<f64> = dd.kept.iter().map(|&i| targets[i]).collect();
    let t = std::time::Instant::now();
    let fit = construct(&kept_pts, &kept_y, seed)?;
    let construct_s = t.elapsed().as_secs_f64();
    let (abs_own, _) = residuals(&fit.network, &kept_pts, &kept_y);
    // Residuals and labels from an independent evaluation: in the construction's own
    // order the residual is optimistic (its rounding matches the forward substitution's).
    let kept_out = outputs_by_matmul(&fit.network, &kept_pts);
    let (abs, rel) = kept_out
        .iter()
        .zip(&kept_y)
        .fold((0.0, 0.0), |(abs, rel), (o, &y)| {
            let r = (o - y).abs();
            (f64::max(abs, r), f64::max(rel, r / y.abs().max(1.0)))
        });
    let acc = |outs: &[f64], ys: &[f64]| {
        outs.iter().zip(ys).filter(|(o, &y)| o.round() == y).count() as f64 / ys.len() as f64
    };
    let (class_acc_distinct, class_acc_all) = if classes {
        let all_out = outputs_by_matmul(&fit.network, points);
        (Some(acc(&kept_out, &kept_y)), Some(acc(&all_out, targets)))
    } else {
        (None, None)
    };
    Ok(TheoremReport {
        points: name.into(),
        n: points.len(),
        d: points.first().map_or(0, Vec::len),
        merged: dd.merged,
        conflicting: dd.conflicting,
        weights: fit.network.weights(),
        max_abs_residual: abs,
        max_rel_residual: rel,
        residual_evaluation: RESIDUAL_EVALUATION.into(),
        max_abs_residual_construction_order: abs_own,
        class_acc_distinct,
        class_acc_all,
        min_relative_gap: fit.min_relative_gap,
        seed,
        construct_s,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

/// `n` standard Gaussian points in `d` dimensions and their targets: standard Gaussian reals,
/// or uniform labels in `0..classes`.
pub fn random_problem(
    n: usize,
    d: usize,
    classes: Option<u32>,
    seed: u64,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    use rand::Rng;
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(1);
    let pts = (0..n)
        .map(|_| (0..d).map(|_| StandardNormal.sample(&mut r)).collect())
        .collect();
    let ys = (0..n)
        .map(|_| match classes {
            Some(c) => r.gen_range(0..c) as f64,
            None => StandardNormal.sample(&mut r),
        })
        .collect();
    (pts, ys)
}

/// A §4 experiment: the construction on `n` points, either standard Gaussian points in `d`
/// dimensions or the first `n` training images of a data set (raw pixel values, d = their
/// size), with random labels in `0..classes` (10 for images unless set) or, for Gaussian
/// points without `classes`, standard Gaussian real targets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheoremConfig {
    pub n: usize,
    pub d: usize,
    pub seed: u64,
    pub classes: Option<u32>,
    pub dataset: Option<crate::data::DatasetKind>,
}

impl TheoremConfig {
    /// Builds the problem (loading images when `dataset` is set) and runs the construction.
    pub fn run(&self, data_dir: Option<&std::path::Path>) -> Result<TheoremReport> {
        if self.n == 0 {
            return Err(Error::config("n", "must be at least 1"));
        }
        if self.classes == Some(0) {
            return Err(Error::config("classes", "must be at least 1"));
        }
        if self.dataset.is_none() && self.d == 0 {
            // Every point of R^0 is the same point: all but one would be dropped as duplicates.
            return Err(Error::config(
                "d",
                "must be at least 1: in 0 dimensions all points are one point",
            ));
        }
        match self.dataset {
            Some(kind) => {
                let raw = crate::data::load(kind, data_dir)?;
                let total = raw.train.len() as usize;
                if self.n > total {
                    return Err(Error::config(
                        "n",
                        format!(
                            "{} is larger than the {total} training images of {kind}",
                            self.n
                        ),
                    ));
                }
                let px = Vec::<u8>::try_from(
                    raw.train.images.narrow(0, 0, self.n as i64).reshape([-1]),
                )?;
                let per = px.len() / self.n.max(1);
                let points: Vec<Vec<f64>> = px
                    .chunks(per.max(1))
                    .map(|c| c.iter().map(|&v| f64::from(v)).collect())
                    .collect();
                let (_, targets) =
                    random_problem(self.n, 0, Some(self.classes.unwrap_or(10)), self.seed);
                report(&kind.name(), &points, &targets, true, self.seed)
            }
            None => {
                let (p, t) = random_problem(self.n, self.d, self.classes, self.seed);
                report("gaussian", &p, &t, self.classes.is_some(), self.seed)
            }
        }
    }
}
