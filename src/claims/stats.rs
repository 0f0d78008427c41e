//! Effects over seeds: a paired per-seed measure (a difference or ratio of two runs that
//! share their seed, data subset and initialization stream), summarized over the seeds it was
//! measured on by its mean and a two-sided 95% confidence interval from Student's t
//! distribution, and judged by where that interval lies against the side of it the claim
//! expects.
//!
//! Student's t, not a bootstrap: with the 3-10 seeds a CPU can afford, a bootstrap's
//! percentile interval is too narrow (it cannot reach beyond the values seen), while the t
//! interval widens honestly as n shrinks. It assumes the per-seed values are roughly normal;
//! the report shows every value beside the interval, so a skewed one can be seen.
//!
//! Beside the intervals, [`Spread`]: a value's median and range over seeds, as reports show
//! them and the bands files summarize their calibration runs.
use super::Verdict;
use crate::error::{Error, Result};
use crate::experiment::Scale;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The registered seeds file, compiled in.
pub const SEEDS_FILE: &str = "golden/seeds.json";
const SEEDS: &str = include_str!("../../golden/seeds.json");

/// How the interval is computed, as reports name it.
pub const METHOD: &str = "Student's t, two-sided 95%, over paired per-seed values";

/// What a claim expects of a paired measure's mean: the closed range it must lie in (an end
/// may be open). An asserted measure expects its band; a measured-only effect expects the
/// direction the claim states (above zero, say).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Expected {
    /// The expectation in words: `>= 0`, `<= 0.1` or `in [1.05, 2]`.
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("in [{a}, {b}]"),
            (Some(a), None) => format!(">= {a}"),
            (None, Some(b)) => format!("<= {b}"),
            (None, None) => "any".into(),
        }
    }
}

/// Over seeds, a paired measure banded seed by seed is expected in the same band.
impl From<&super::Band> for Expected {
    fn from(band: &super::Band) -> Self {
        Expected {
            min: band.min,
            max: band.max,
        }
    }
}

/// The median and range of a number over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no values; the median of an even count is the mean of the middle two.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// A mean over seeds with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub n: usize,
    pub mean: f64,
    /// The sample standard deviation (n - 1 in the denominator).
    pub sd: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The mean of `values` and its two-sided 95% Student's t interval; `None` for fewer than two
/// values or any that is not finite (an interval needs a spread, and a run that never
/// reached a threshold has no value to average).
pub fn t_interval(values: &[f64]) -> Option<Interval> {
    let n = values.len();
    if n < 2 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let mean = values.iter().sum::<f64>() / nf;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt();
    let t = StudentsT::new(0.0, 1.0, nf - 1.0)
        .expect("n - 1 >= 1 degrees of freedom")
        .inverse_cdf(0.975);
    let half = t * sd / nf.sqrt();
    Some(Interval {
        n,
        mean,
        sd,
        lo: mean - half,
        hi: mean + half,
    })
}

/// The status over seeds: "holds" when the whole interval lies inside what the claim
/// expects, "does not hold" when the whole interval lies outside it, "not robust" when it
/// straddles an end (the seeds cannot tell), and "incomplete" without an interval.
pub fn status(interval: Option<&Interval>, expected: &Expected) -> &'static str {
    let Some(i) = interval else {
        return "incomplete";
    };
    let inside = expected.min.is_none_or(|m| i.lo >= m) && expected.max.is_none_or(|m| i.hi <= m);
    let outside = expected.min.is_some_and(|m| i.hi < m) || expected.max.is_some_and(|m| i.lo > m);
    match (inside, outside) {
        (true, _) => "holds",
        (false, true) => "does not hold",
        (false, false) => "not robust",
    }
}

/// A paired measure of one claim over the registered seeds it was judged on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    pub claim: String,
    /// The measure, as the claim's verdicts name it.
    pub what: String,
    pub expected: Expected,
    /// The registered seeds with a value, in the registered order, and their values.
    pub seeds: Vec<u64>,
    pub values: Vec<f64>,
    /// Seeds whose verdicts carry the measure but that are not registered: left out.
    pub unregistered: Vec<u64>,
    /// Registered seeds judged whose value is missing (a run never reached a threshold):
    /// the interval is then incomplete, never taken over the rest.
    pub missing: Vec<u64>,
    /// `None` with fewer than two values, or with any missing.
    pub interval: Option<Interval>,
    pub method: &'static str,
    /// [`status`] of the interval.
    pub status: &'static str,
}

/// One paired measure as gathered over seeds: its words, its expectation, and each seed's
/// value.
type Gathered = (String, Expected, BTreeMap<u64, Option<f64>>);

/// Every paired measure of `verdicts` (one claim's, one per seed) over the seeds registered
/// for its scale, in the order the verdicts measure them.
pub fn effects(verdicts: &[&Verdict], registered: &[u64]) -> Vec<Effect> {
    // A claim's check takes its measures in one order whatever the seed, so the k-th paired
    // measure of every seed's verdict is the same measure (its words name the seed's runs).
    let mut order: Vec<(String, usize)> = Vec::new();
    let mut by: BTreeMap<(String, usize), Gathered> = BTreeMap::new();
    for v in verdicts {
        let paired = v.measures.iter().filter_map(|m| Some((m, m.paired?)));
        for (k, (m, expected)) in paired.enumerate() {
            let key = (v.claim.clone(), k);
            if !by.contains_key(&key) {
                order.push(key.clone());
            }
            let entry = by
                .entry(key)
                .or_insert_with(|| (without_seed(&m.what), expected, BTreeMap::new()));
            entry.2.insert(v.seed, m.value);
        }
    }
    order
        .into_iter()
        .map(|key| {
            let (what, expected, per_seed) = &by[&key];
            let unregistered = per_seed
                .keys()
                .filter(|s| !registered.contains(s))
                .copied()
                .collect();
            let (mut seeds, mut values, mut missing) = (Vec::new(), Vec::new(), Vec::new());
            for s in registered {
                match per_seed.get(s) {
                    Some(Some(v)) if v.is_finite() => {
                        seeds.push(*s);
                        values.push(*v);
                    }
                    Some(_) => missing.push(*s),
                    None => {}
                }
            }
            let interval = if missing.is_empty() {
                t_interval(&values)
            } else {
                None
            };
            Effect {
                claim: key.0,
                what: what.clone(),
                expected: *expected,
                seeds,
                values,
                unregistered,
                missing,
                status: status(interval.as_ref(), expected),
                interval,
                method: METHOD,
            }
        })
        .collect()
}

/// `what` with the seed suffix of run names (`NAME-seedK`, as `reproduce --seeds` names
/// seed K's runs) taken out, so that it names the measure of every seed.
fn without_seed(what: &str) -> String {
    let mut out = String::with_capacity(what.len());
    let mut rest = what;
    while let Some(i) = rest.find("-seed") {
        let after = &rest[i + 5..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..i]);
        if digits == 0 {
            out.push_str("-seed");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedsFile {
    #[allow(dead_code)]
    why: String,
    scales: BTreeMap<String, Vec<u64>>,
    #[allow(dead_code)]
    calibration: String,
}

fn parse_seeds(text: &str) -> Result<BTreeMap<String, Vec<u64>>> {
    let file: SeedsFile = serde_json::from_str(text)
        .map_err(|e| Error::format(SEEDS_FILE, format!("not the registered seeds: {e}")))?;
    for &scale in Scale::all() {
        let seeds = file.scales.get(&scale.name()).ok_or_else(|| {
            Error::format(SEEDS_FILE, format!("no seeds registered for scale {scale}"))
        })?;
        let distinct: std::collections::BTreeSet<_> = seeds.iter().collect();
        if seeds.len() < 2 || distinct.len() != seeds.len() {
            return Err(Error::format(
                SEEDS_FILE,
                format!(
                    "scale {scale}: the seeds must be at least two, all distinct; got {seeds:?}"
                ),
            ));
        }
    }
    if let Some(extra) = file.scales.keys().find(|k| k.parse::<Scale>().is_err()) {
        return Err(Error::format(
            SEEDS_FILE,
            format!("{extra:?} is not a scale"),
        ));
    }
    Ok(file.scales)
}

/// The seeds registered for `scale`'s statistical claims, from the copy of golden/seeds.json
/// compiled in.
pub fn registered_seeds(scale: Scale) -> Result<&'static [u64]> {
    static FILE: OnceLock<std::result::Result<BTreeMap<String, Vec<u64>>, String>> =
        OnceLock::new();
    let file = FILE
        .get_or_init(|| parse_seeds(SEEDS).map_err(|e| crate::error::chain(&e)))
        .as_ref()
        .map_err(|e| Error::format(SEEDS_FILE, e.clone()))?;
    Ok(&file[&scale.name()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_and_range_of_the_finite_values() {
        let s = Spread::of(&[3.0, 1.0, f64::NAN, 2.0, 10.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 10.0));
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert!(Spread::of(&[]).is_none());
        assert!(Spread::of(&[f64::INFINITY]).is_none());
    }

    #[test]
    fn the_interval_is_students_t() {
        // n = 5: t(0.975, 4) = 2.776445.
        let i = t_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!((i.n, i.mean), (5, 3.0));
        assert!((i.sd - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776445 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((i.lo - (3.0 - half)).abs() < 1e-5, "{i:?}");
        assert!((i.hi - (3.0 + half)).abs() < 1e-5, "{i:?}");
        // n = 2: t(0.975, 1) = 12.7062.
        let i = t_interval(&[0.0, 1.0]).unwrap();
        assert!((i.hi - i.mean - 12.7062 * 0.5f64.sqrt() / 2f64.sqrt()).abs() < 1e-3);
    }

    #[test]
    fn fewer_than_two_values_or_a_missing_one_give_no_interval() {
        assert!(t_interval(&[]).is_none());
        assert!(t_interval(&[0.3]).is_none());
        assert!(t_interval(&[0.3, f64::NAN, 0.2]).is_none());
    }

    #[test]
    fn the_status_is_where_the_whole_interval_lies() {
        let at_most = Expected {
            min: None,
            max: Some(0.1),
        };
        let above_zero = Expected {
            min: Some(0.0),
            max: None,
        };
        let i = |lo: f64, hi: f64| Interval {
            n: 5,
            mean: (lo + hi) / 2.0,
            sd: 0.0,
            lo,
            hi,
        };
        assert_eq!(status(Some(&i(-0.02, 0.05)), &at_most), "holds");
        assert_eq!(status(Some(&i(0.05, 0.15)), &at_most), "not robust");
        assert_eq!(status(Some(&i(0.12, 0.15)), &at_most), "does not hold");
        assert_eq!(status(Some(&i(-0.3, -0.2)), &above_zero), "does not hold");
        assert_eq!(status(Some(&i(-0.1, 0.2)), &above_zero), "not robust");
        assert_eq!(status(Some(&i(0.01, 0.2)), &above_zero), "holds");
        assert_eq!(status(None, &above_zero), "incomplete");
    }

    #[test]
    fn every_scale_has_registered_distinct_seeds_and_bad_files_are_named() {
        for &scale in Scale::all() {
            assert!(registered_seeds(scale).unwrap().len() >= 2);
        }
        let e = crate::error::chain(
            &parse_seeds(&SEEDS.replace("\"grid\": [0, 1", "\"grid\": [0, 0")).unwrap_err(),
        );
        assert!(
            e.contains(SEEDS_FILE) && e.contains("scale grid") && e.contains("distinct"),
            "{e}"
        );
        let e =
            crate::error::chain(&parse_seeds(&SEEDS.replace("\"smoke\"", "\"smok\"")).unwrap_err());
        assert!(e.contains("no seeds registered for scale smoke"), "{e}");
    }

    #[test]
    fn a_measure_is_named_without_its_runs_seed_suffix() {
        assert_eq!(
            without_seed("test accuracy of net-wd-seed12 minus net-seed12"),
            "test accuracy of net-wd minus net"
        );
        assert_eq!(
            without_seed("a -seeded name, net-seed"),
            "a -seeded name, net-seed"
        );
    }

    fn verdict(seed: u64, values: &[(&str, Option<f64>, Option<Expected>)]) -> Verdict {
        Verdict {
            claim: "c".into(),
            statement: String::new(),
            seed,
            holds: true,
            robust: true,
            measures: values
                .iter()
                .map(|(what, value, paired)| super::super::Measure {
                    what: (*what).into(),
                    value: *value,
                    detail: String::new(),
                    band: None,
                    holds: true,
                    paired: *paired,
                })
                .collect(),
        }
    }

    #[test]
    fn effects_take_the_registered_seeds_only_and_a_missing_value_leaves_them_incomplete() {
        let up = Some(Expected {
            min: Some(0.0),
            max: None,
        });
        let vs: Vec<Verdict> = [(0, 0.10), (1, 0.12), (2, 0.08), (99, -5.0)]
            .into_iter()
            .map(|(s, v)| verdict(s, &[("fit", Some(1.0), None), ("gain", Some(v), up)]))
            .collect();
        let refs: Vec<&Verdict> = vs.iter().collect();
        let e = effects(&refs, &[0, 1, 2, 3]);
        assert_eq!(e.len(), 1, "only the paired measure: {e:?}");
        let e = &e[0];
        assert_eq!(
            (e.seeds.clone(), e.unregistered.clone()),
            (vec![0, 1, 2], vec![99])
        );
        let i = e.interval.unwrap();
        assert!((i.mean - 0.1).abs() < 1e-12 && i.lo > 0.0, "{i:?}");
        assert_eq!(e.status, "holds");

        let mut vs = vs;
        vs[1].measures[1].value = None;
        let refs: Vec<&Verdict> = vs.iter().collect();
        let e = &effects(&refs, &[0, 1, 2, 3])[0];
        assert_eq!(
            (e.missing.clone(), e.interval, e.status),
            (vec![1], None, "incomplete")
        );
    }
}
