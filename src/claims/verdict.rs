//! A claim's verdict: every number its check measured beside the band it must fall in,
//! its status (holds, does not hold, not robust), and what a snapshot pins of it.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A number a check measured, and the band it must fall in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// What was measured, without the numbers (stable across runs, so snapshots can hold it).
    pub what: String,
    /// The value; `None` when it could not be measured (a run never reached a threshold).
    pub value: Option<f64>,
    /// The numbers behind the value, for people.
    pub detail: String,
    /// The band the value must fall in; `None` for a number that is reported, not asserted.
    pub band: Option<BandRef>,
    pub holds: bool,
}

/// A band as a measure used it (its ends may depend on the run, as the chance band does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandRef {
    pub name: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub resolution: f64,
}

impl BandRef {
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }

    /// The band in words: `>= 0.75`, `<= 0.04` or `in [1.05, 2]`.
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("in [{a}, {b}]"),
            (Some(a), None) => format!(">= {a}"),
            (None, Some(b)) => format!("<= {b}"),
            (None, None) => "any".into(),
        }
    }
}

/// A claim judged on one set of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub claim: String,
    pub statement: String,
    /// The runs' seed.
    pub seed: u64,
    /// Every asserted measure falls in its band.
    pub holds: bool,
    /// The measure that says whether the claim itself holds is robust at this scale. When it
    /// is not (golden's `not_robust`), the check only reports it, and the verdict is "not
    /// robust" however its asserted measures (the runs it compares fit, say) fare: a claim
    /// whose own measure is only reported never says "holds". Absent when robust.
    #[serde(default = "robust", skip_serializing_if = "is_robust")]
    pub robust: bool,
    pub measures: Vec<Measure>,
}

fn robust() -> bool {
    true
}

fn is_robust(r: &bool) -> bool {
    *r
}

/// Rounds `v` to a multiple of `r`, printed with the digits `r` has.
pub fn quantize(v: f64, r: f64) -> f64 {
    let q = (v / r).round() * r;
    let digits = (-r.log10().floor()).max(0.0) as usize;
    let q: f64 = format!("{q:.digits$}").parse().unwrap_or(q);
    // A small negative value rounds to -0.0, which a snapshot writes as "-0.0": the same
    // measure a hair above zero on another CPU would then differ. Zero has one sign.
    if q == 0.0 {
        0.0
    } else {
        q
    }
}

impl Verdict {
    /// What a snapshot pins: the verdict and each asserted measure rounded to its band's
    /// resolution (the spread over seeds and instruction-set levels), never the raw floats,
    /// which differ between CPUs.
    pub fn snapshot(&self) -> serde_json::Value {
        let measures: Vec<_> = self
            .measures
            .iter()
            .filter_map(|m| {
                let b = m.band.as_ref()?;
                Some(serde_json::json!({
                    "what": m.what,
                    "band": b.name,
                    "value": m.value.map(|v| quantize(v, b.resolution)),
                    "holds": m.holds,
                }))
            })
            .collect();
        let mut snap = serde_json::json!({
            "claim": self.claim,
            "holds": self.holds,
            "measures": measures,
        });
        if !self.robust {
            snap["robust"] = false.into();
        }
        snap
    }

    /// "holds", "does not hold" (an asserted measure is outside its band) or "not robust"
    /// (every asserted measure holds, but the claim's own measure is only reported).
    pub fn status(&self) -> &'static str {
        match (self.holds, self.robust) {
            (false, _) => "does not hold",
            (true, false) => "not robust",
            (true, true) => "holds",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (seed {}): {}", self.claim, self.seed, self.status())?;
        for m in &self.measures {
            let band = m
                .band
                .as_ref()
                .map_or("reported, not asserted".into(), |b| {
                    format!("band {}: {}", b.name, b.describe())
                });
            writeln!(
                f,
                "  {} {}: {} ({band})",
                if m.holds { "ok  " } else { "FAIL" },
                m.what,
                m.detail
            )?;
        }
        Ok(())
    }
}
