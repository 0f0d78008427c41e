//! The randomization tests of Zhang et al. 2017, §2 ("Fitting random labels and pixels"):
//! each a pure function of the data and a seed.
//!
//! - `true-labels`: the identity.
//! - `corrupt:P`: each training label is, with probability P, replaced by a class drawn
//!   uniformly from all classes (so about 0.9·P of them change, the paper's definition).
//! - `random-labels`: `corrupt:1`.
//! - `shuffled-pixels`: one permutation of the pixel positions, the same for every image,
//!   train and test alike. Channels move together: a position is a (row, column).
//! - `random-pixels`: an independent permutation of the positions for every image, train
//!   and test (test images get their own draws).
//! - `gaussian`: every image replaced by Gaussian noise with the training set's per-channel
//!   mean and std, train and test (test images get their own draws).
//!
//! Test labels are never changed. Every draw comes from a ChaCha8 stream keyed by the seed
//! and the purpose, so results do not depend on the device or on tch's global generator.
use crate::data::{channel_stats, Split};
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// One of the paper's randomizations. Written as on the command line:
/// `true-labels`, `random-labels`, `shuffled-pixels`, `random-pixels`, `gaussian`, `corrupt:P`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Randomization {
    TrueLabels,
    RandomLabels,
    ShuffledPixels,
    RandomPixels,
    Gaussian,
    /// Label corruption with probability P in [0, 1].
    Corrupt(f64),
}

impl Randomization {
    /// The five randomizations of Fig. 1a, in the paper's order.
    pub const FIG1A: [Randomization; 5] = [
        Randomization::TrueLabels,
        Randomization::RandomLabels,
        Randomization::ShuffledPixels,
        Randomization::RandomPixels,
        Randomization::Gaussian,
    ];

    /// The label-corruption probability this amounts to (0 for input randomizations).
    pub fn label_noise(self) -> f64 {
        match self {
            Randomization::RandomLabels => 1.0,
            Randomization::Corrupt(p) => p,
            _ => 0.0,
        }
    }

    pub fn validate(self) -> Result<()> {
        match self {
            Randomization::Corrupt(p) if !(0.0..=1.0).contains(&p) => Err(Error::config(
                "randomization",
                format!("corruption probability {p} is outside [0, 1]"),
            )),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Randomization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Randomization::TrueLabels => f.write_str("true-labels"),
            Randomization::RandomLabels => f.write_str("random-labels"),
            Randomization::ShuffledPixels => f.write_str("shuffled-pixels"),
            Randomization::RandomPixels => f.write_str("random-pixels"),
            Randomization::Gaussian => f.write_str("gaussian"),
            Randomization::Corrupt(p) => write!(f, "corrupt:{p}"),
        }
    }
}

impl std::str::FromStr for Randomization {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let r = match s {
            "true-labels" => Randomization::TrueLabels,
            "random-labels" => Randomization::RandomLabels,
            "shuffled-pixels" => Randomization::ShuffledPixels,
            "random-pixels" => Randomization::RandomPixels,
            "gaussian" => Randomization::Gaussian,
            _ => match s.strip_prefix("corrupt:") {
                Some(p) => Randomization::Corrupt(p.parse().map_err(|_| {
                    Error::config("randomization", format!("{s:?}: corruption probability is not a number"))
                })?),
                None => {
                    return Err(Error::config(
                        "randomization",
                        format!("unknown randomization {s:?} (true-labels, random-labels, shuffled-pixels, random-pixels, gaussian or corrupt:P)"),
                    ))
                }
            },
        };
        r.validate()?;
        Ok(r)
    }
}

impl TryFrom<String> for Randomization {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Randomization> for String {
    fn from(r: Randomization) -> String {
        r.to_string()
    }
}

/// Independent random streams derived from one seed, one per purpose.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Stream {
    Labels = 1,
    ShuffledPixels = 2,
    RandomPixelsTrain = 3,
    RandomPixelsTest = 4,
    GaussianTrain = 5,
    GaussianTest = 6,
    Batches = 7,
    Augmentation = 8,
    /// Seeds libtorch's generator (dropout's masks) at the start of each epoch.
    Dropout = 9,
}

/// The ChaCha8 generator for `seed` and `stream`.
pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream as u64);
    r
}

/// Replaces each label with probability `p` by a uniform class in `0..classes`.
pub fn corrupt_labels(labels: &[i64], classes: i64, p: f64, seed: u64) -> Vec<i64> {
    let mut r = rng(seed, Stream::Labels);
    labels
        .iter()
        .map(|&l| {
            // Draw both numbers for every example, so that the labels chosen at one P are
            // a superset of those chosen at a smaller P with the same seed.
            let u: f64 = r.gen();
            let c = r.gen_range(0..classes);
            if u < p {
                c
            } else {
                l
            }
        })
        .collect()
}

/// A uniformly random permutation of `0..n`.
pub fn permutation(n: usize, r: &mut impl Rng) -> Vec<i64> {
    let mut v: Vec<i64> = (0..n as i64).collect();
    v.shuffle(r);
    v
}

/// Applies one permutation of the H·W positions to every image. `[N,C,H,W] -> [N,C,H,W]`.
pub fn permute_pixels(images: &Tensor, perm: &[i64]) -> Tensor {
    let (n, c, h, w) = images.size4().expect("images are [N, C, H, W]");
    let idx = Tensor::from_slice(perm).to_device(images.device());
    images
        .reshape([n, c, h * w])
        .index_select(2, &idx)
        .reshape([n, c, h, w])
}

/// Applies an independent permutation of the H·W positions to every image.
pub fn random_pixels(images: &Tensor, r: &mut impl Rng) -> Tensor {
    let (n, c, h, w) = images.size4().expect("images are [N, C, H, W]");
    let hw = (h * w) as usize;
    let mut idx = Vec::with_capacity(n as usize * hw);
    for _ in 0..n {
        idx.extend(permutation(hw, r));
    }
    let idx = Tensor::from_slice(&idx)
        .to_device(images.device())
        .view([n, 1, h * w])
        .expand([n, c, h * w], false);
    images
        .reshape([n, c, h * w])
        .gather(2, &idx, false)
        .reshape([n, c, h, w])
}

/// Gaussian noise shaped like `like`, with per-channel `mean` and `std`.
pub fn gaussian_like(like: &Tensor, mean: &[f64], std: &[f64], r: &mut impl Rng) -> Tensor {
    let (n, c, h, w) = like.size4().expect("images are [N, C, H, W]");
    let numel = (n * c * h * w) as usize;
    let z: Vec<f32> = (0..numel)
        .map(|_| r.sample::<f32, _>(StandardNormal))
        .collect();
    let m = Tensor::from_slice(mean)
        .to_kind(Kind::Float)
        .view([1, c, 1, 1]);
    let s = Tensor::from_slice(std)
        .to_kind(Kind::Float)
        .view([1, c, 1, 1]);
    (Tensor::from_slice(&z).view([n, c, h, w]) * s + m).to_device(like.device())
}

/// The result of randomizing a data set.
#[derive(Debug)]
pub struct Randomized {
    pub train: Split,
    pub test: Split,
    /// Training examples whose label differs from the original one.
    pub corrupted: Vec<bool>,
    /// Where labels were randomized, the test accuracy those realized labels imply by chance
    /// ([`implied_chance`]); `None` where every label is true.
    pub implied_chance: Option<f64>,
}

/// The test accuracy that a net which learned the realized training labels reaches by
/// chance: a test image of class c gets the labels that the training images of class c were
/// given, in their proportions, so it is right with probability q_c, the share of class-c
/// training images labelled c; over the test set, the sum of p_c q_c with p_c the share of
/// test images of class c. A class absent from the training images has q_c = 1/classes.
///
/// Why not 1/classes: a few hundred randomly labelled images give each class a realized
/// q_c that is itself random (binomial over its ~n/classes images), and a memorizing net's
/// test accuracy follows the realized labels, not their expectation. Measured on the grid's
/// 128 images, accuracy around 0.1 spread 1.7-2 times wider than a binomial over the test
/// images; this is the share of that spread that the labels themselves explain.
pub fn implied_chance(true_train: &[i64], realized: &[i64], test: &[i64], classes: i64) -> f64 {
    let k = classes.max(1) as usize;
    let (mut seen, mut kept) = (vec![0usize; k], vec![0usize; k]);
    for (&t, &r) in true_train.iter().zip(realized) {
        if let Some(c) = usize::try_from(t).ok().filter(|&c| c < k) {
            seen[c] += 1;
            kept[c] += usize::from(t == r);
        }
    }
    let mut test_share = vec![0usize; k];
    for &t in test {
        if let Some(c) = usize::try_from(t).ok().filter(|&c| c < k) {
            test_share[c] += 1;
        }
    }
    let n = test.len().max(1) as f64;
    (0..k)
        .map(|c| {
            let q = if seen[c] == 0 {
                1.0 / k as f64
            } else {
                kept[c] as f64 / seen[c] as f64
            };
            test_share[c] as f64 / n * q
        })
        .sum()
}

impl Randomized {
    pub fn corrupted_count(&self) -> usize {
        self.corrupted.iter().filter(|&&c| c).count()
    }
}

/// Applies `r` to the train split (and to the test inputs where the randomization says so).
pub fn apply(
    train: &Split,
    test: &Split,
    r: Randomization,
    classes: i64,
    seed: u64,
) -> Result<Randomized> {
    r.validate()?;
    let n = train.len() as usize;
    let keep = |s: &Split| Split {
        images: s.images.shallow_clone(),
        labels: s.labels.shallow_clone(),
    };
    let out = match r {
        Randomization::TrueLabels => Randomized {
            train: keep(train),
            test: keep(test),
            corrupted: vec![false; n],
            implied_chance: None,
        },
        Randomization::RandomLabels | Randomization::Corrupt(_) => {
            let orig = Vec::<i64>::try_from(train.labels.to_device(tch::Device::Cpu))?;
            let new = corrupt_labels(&orig, classes, r.label_noise(), seed);
            let corrupted = orig.iter().zip(&new).map(|(a, b)| a != b).collect();
            let test_labels = Vec::<i64>::try_from(test.labels.to_device(tch::Device::Cpu))?;
            Randomized {
                train: Split {
                    images: train.images.shallow_clone(),
                    labels: Tensor::from_slice(&new).to_device(train.labels.device()),
                },
                test: keep(test),
                corrupted,
                implied_chance: Some(implied_chance(&orig, &new, &test_labels, classes)),
            }
        }
        Randomization::ShuffledPixels => {
            let (_, _, h, w) = train.images.size4()?;
            let perm = permutation((h * w) as usize, &mut rng(seed, Stream::ShuffledPixels));
            let shuffle = |s: &Split| Split {
                images: permute_pixels(&s.images, &perm),
                labels: s.labels.shallow_clone(),
            };
            Randomized {
                train: shuffle(train),
                test: shuffle(test),
                corrupted: vec![false; n],
                implied_chance: None,
            }
        }
        Randomization::RandomPixels => Randomized {
            train: Split {
                images: random_pixels(&train.images, &mut rng(seed, Stream::RandomPixelsTrain)),
                labels: train.labels.shallow_clone(),
            },
            test: Split {
                images: random_pixels(&test.images, &mut rng(seed, Stream::RandomPixelsTest)),
                labels: test.labels.shallow_clone(),
            },
            corrupted: vec![false; n],
            implied_chance: None,
        },
        Randomization::Gaussian => {
            let (mean, std) = channel_stats(&train.images);
            Randomized {
                train: Split {
                    images: gaussian_like(
                        &train.images,
                        &mean,
                        &std,
                        &mut rng(seed, Stream::GaussianTrain),
                    ),
                    labels: train.labels.shallow_clone(),
                },
                test: Split {
                    images: gaussian_like(
                        &test.images,
                        &mean,
                        &std,
                        &mut rng(seed, Stream::GaussianTest),
                    ),
                    labels: test.labels.shallow_clone(),
                },
                corrupted: vec![false; n],
                implied_chance: None,
            }
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::Rng;
    use tch::Device;

    #[test]
    fn implied_chance_is_the_test_share_weighted_rate_of_labels_kept_per_class() {
        // Class 0: 4 training images, 1 kept; class 1: 2, both kept; class 2: none trained.
        let truth = [0, 0, 0, 0, 1, 1];
        let given = [0, 1, 2, 1, 1, 1];
        // Test: half class 0, a quarter each of 1 and 2.
        let test = [0, 0, 1, 2];
        let p = implied_chance(&truth, &given, &test, 4);
        assert!(
            (p - (0.5 * 0.25 + 0.25 * 1.0 + 0.25 * 0.25)).abs() < 1e-12,
            "{p}"
        );
        // True labels imply 1 for the classes trained on; over many images uniform random
        // labels imply about 1/k.
        assert_eq!(implied_chance(&truth, &truth, &[0, 0, 1], 4), 1.0);
        let n = 100_000;
        let truth: Vec<i64> = (0..n).map(|i| i % 10).collect();
        let given = corrupt_labels(&truth, 10, 1.0, 3);
        let p = implied_chance(&truth, &given, &truth[..1000], 10);
        assert!((p - 0.1).abs() < 0.01, "{p}");
    }

    #[test]
    fn label_randomizations_record_their_implied_chance_and_others_none() {
        let (train, test) = (split(200, 1, 4, 1), split(50, 1, 4, 2));
        for r in [Randomization::RandomLabels, Randomization::Corrupt(0.5)] {
            let out = apply(&train, &test, r, 10, 7).unwrap();
            let p = out.implied_chance.unwrap();
            let want = 1.0 - r.label_noise() + r.label_noise() / 10.0;
            assert!((p - want).abs() < 0.15, "{r}: {p} vs about {want}");
        }
        for r in [
            Randomization::TrueLabels,
            Randomization::RandomPixels,
            Randomization::Gaussian,
            Randomization::ShuffledPixels,
        ] {
            assert_eq!(
                apply(&train, &test, r, 10, 7).unwrap().implied_chance,
                None,
                "{r}"
            );
        }
    }

    fn split(n: i64, c: i64, s: i64, seed: u64) -> Split {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let px: Vec<f32> = (0..n * c * s * s)
            .map(|_| (r.gen_range(0..256) as f32) / 255.0)
            .collect();
        let lb: Vec<i64> = (0..n).map(|_| r.gen_range(0..10)).collect();
        Split {
            images: Tensor::from_slice(&px).view([n, c, s, s]),
            labels: Tensor::from_slice(&lb),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn corrupt_zero_is_the_identity(labels in proptest::collection::vec(0i64..10, 0..200), seed in any::<u64>()) {
            prop_assert_eq!(corrupt_labels(&labels, 10, 0.0, seed), labels);
        }

        #[test]
        fn same_seed_same_output_other_seed_other_output(seed in any::<u64>(), p in 0.3f64..=1.0) {
            let labels: Vec<i64> = (0..500).map(|i| i % 10).collect();
            let a = corrupt_labels(&labels, 10, p, seed);
            prop_assert_eq!(&a, &corrupt_labels(&labels, 10, p, seed));
            prop_assert_ne!(&a, &corrupt_labels(&labels, 10, p, seed.wrapping_add(1)));
            let t = split(6, 3, 5, 9);
            for r in [Randomization::ShuffledPixels, Randomization::RandomPixels, Randomization::Gaussian] {
                let x = apply(&t, &t, r, 10, seed).unwrap();
                let y = apply(&t, &t, r, 10, seed).unwrap();
                let z = apply(&t, &t, r, 10, seed.wrapping_add(1)).unwrap();
                prop_assert!(x.train.images.equal(&y.train.images));
                prop_assert!(!x.train.images.equal(&z.train.images));
            }
        }

        #[test]
        fn changed_fraction_is_within_binomial_bounds(p in 0.0f64..=1.0, seed in any::<u64>()) {
            let n = 4000usize;
            let labels: Vec<i64> = (0..n as i64).map(|i| i % 10).collect();
            let changed = corrupt_labels(&labels, 10, p, seed).iter().zip(&labels).filter(|(a, b)| a != b).count();
            // Each label changes with probability q = 0.9·p; allow 5 binomial standard deviations.
            let q = 0.9 * p;
            let sd = (n as f64 * q * (1.0 - q)).sqrt();
            prop_assert!((changed as f64 - n as f64 * q).abs() <= 5.0 * sd + 1.0,
                "changed {} of {} at p={}", changed, n, p);
        }

        #[test]
        fn permutations_preserve_each_images_pixel_multiset(seed in any::<u64>()) {
            let t = split(5, 3, 6, seed);
            let sorted = |x: &Tensor| x.reshape([5, -1]).sort(1, false).0;
            for r in [Randomization::ShuffledPixels, Randomization::RandomPixels] {
                let out = apply(&t, &t, r, 10, seed).unwrap();
                prop_assert!(sorted(&out.train.images).equal(&sorted(&t.images)));
                prop_assert!(out.train.labels.equal(&t.labels));
            }
        }
    }

    /// The positions each image's pixels went to, recovered from a probe image whose pixel at
    /// position k holds the value k.
    fn moved_positions(r: Randomization, n: i64) -> Vec<Vec<i64>> {
        let probe = Tensor::arange(36, (Kind::Float, Device::Cpu))
            .view([1, 1, 6, 6])
            .repeat([n, 2, 1, 1]);
        let s = Split {
            images: probe,
            labels: Tensor::zeros([n], (Kind::Int64, Device::Cpu)),
        };
        let out = apply(&s, &s, r, 10, 7).unwrap();
        // Channels move together.
        assert!(out
            .train
            .images
            .select(1, 0)
            .equal(&out.train.images.select(1, 1)));
        (0..n)
            .map(|i| Vec::<f32>::try_from(out.train.images.get(i).get(0).reshape([-1])).unwrap())
            .map(|v| v.into_iter().map(|x| x as i64).collect())
            .collect()
    }

    #[test]
    fn shuffled_pixels_use_one_permutation_and_random_pixels_do_not() {
        let shuffled = moved_positions(Randomization::ShuffledPixels, 8);
        assert!(shuffled.iter().all(|p| p == &shuffled[0]));
        assert_ne!(shuffled[0], (0..36).collect::<Vec<_>>());
        let random = moved_positions(Randomization::RandomPixels, 8);
        let distinct: std::collections::HashSet<_> = random.iter().collect();
        assert_eq!(distinct.len(), 8);
        // Train and test share the shuffled permutation.
        let t = split(3, 1, 6, 1);
        let out = apply(&t, &t, Randomization::ShuffledPixels, 10, 3).unwrap();
        assert!(out.train.images.equal(&out.test.images));
    }

    #[test]
    fn gaussian_matches_the_training_statistics() {
        let t = split(400, 3, 8, 5);
        let out = apply(&t, &t, Randomization::Gaussian, 10, 11).unwrap();
        let (m0, s0) = channel_stats(&t.images);
        let (m1, s1) = channel_stats(&out.train.images);
        let per_channel = 400.0 * 64.0;
        for c in 0..3 {
            // Sampling error of the mean is s/sqrt(n); of the std about s/sqrt(2n). 5 sigma.
            assert!(
                (m1[c] - m0[c]).abs() < 5.0 * s0[c] / f64::sqrt(per_channel),
                "mean {c}"
            );
            assert!(
                (s1[c] - s0[c]).abs() < 5.0 * s0[c] / f64::sqrt(2.0 * per_channel),
                "std {c}"
            );
        }
        assert!(out.test.labels.equal(&t.labels));
    }

    #[test]
    fn labels_on_test_are_never_corrupted_and_corruption_is_recorded() {
        let t = split(300, 1, 4, 2);
        let out = apply(&t, &t, Randomization::RandomLabels, 10, 4).unwrap();
        assert!(out.test.labels.equal(&t.labels));
        let orig = Vec::<i64>::try_from(&t.labels).unwrap();
        let new = Vec::<i64>::try_from(&out.train.labels).unwrap();
        for i in 0..300 {
            assert_eq!(out.corrupted[i], orig[i] != new[i]);
        }
        assert!(out.corrupted_count() > 200);
    }

    #[test]
    fn parses_and_prints_the_cli_names() {
        for s in [
            "true-labels",
            "random-labels",
            "shuffled-pixels",
            "random-pixels",
            "gaussian",
            "corrupt:0.4",
        ] {
            assert_eq!(s.parse::<Randomization>().unwrap().to_string(), s);
        }
        let e = "corrupt:1.5"
            .parse::<Randomization>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid randomization: corruption probability 1.5 is outside [0, 1]"
        );
        assert!(serde_json::from_str::<Randomization>("\"corrupt:-0.1\"").is_err());
    }
}
