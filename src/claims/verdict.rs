//! A claim's verdict: every number its check measured beside the band it must fall in,
//! its status (holds, does not hold, not robust; a claim that cannot be judged for want of
//! runs is incomplete), and what a snapshot pins of it.
use super::stats::Expected;
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
    /// Set on a paired measure (two runs of one seed compared: a difference or a ratio): what
    /// its mean over seeds is expected to be. Over several seeds the report judges it by its
    /// 95% confidence interval ([`super::stats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<Expected>,
}

/// A band as a measure used it (its ends may depend on the run, as the chance band does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandRef {
    pub name: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub resolution: f64,
    /// Whether snapshots pin the measured value ([`super::Band::snapshot`]).
    #[serde(default = "robust", skip_serializing_if = "is_robust")]
    pub snapshot: bool,
}

impl BandRef {
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }

    /// The band in words: `>= 0.75`, `<= 0.04` or `in [1.05, 2]`.
    pub fn describe(&self) -> String {
        Expected {
            min: self.min,
            max: self.max,
        }
        .describe()
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
    /// What a snapshot pins: the verdict's status (never a bare `holds`, which a claim whose
    /// own measure is only reported would show beside a contradicting number), whether each
    /// asserted measure holds, and, where its band's snapshot flag is set, the measure rounded to its band's
    /// resolution (the spread over seeds and instruction-set levels), never the raw floats,
    /// which differ between CPUs.
    pub fn snapshot(&self) -> serde_json::Value {
        let measures: Vec<_> = self
            .measures
            .iter()
            .filter_map(|m| {
                let b = m.band.as_ref()?;
                let mut pinned = serde_json::json!({
                    "what": m.what,
                    "band": b.name,
                    "holds": m.holds,
                });
                if b.snapshot {
                    pinned["value"] = m.value.map(|v| quantize(v, b.resolution)).into();
                }
                Some(pinned)
            })
            .collect();
        serde_json::json!({
            "claim": self.claim,
            "status": self.status(),
            "measures": measures,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_pins_the_status_word_and_only_the_values_of_informative_bands() {
        let band = |name: &str, snapshot: bool| BandRef {
            name: name.into(),
            min: Some(0.5),
            max: None,
            resolution: 0.1,
            snapshot,
        };
        let measure = |what: &str, value: f64, band: BandRef| Measure {
            what: what.into(),
            value: Some(value),
            detail: String::new(),
            band: Some(band),
            holds: true,
            paired: None,
        };
        let mut v = Verdict {
            claim: "c".into(),
            statement: String::new(),
            seed: 0,
            holds: true,
            robust: false,
            measures: vec![
                measure("fit", 1.0, band("fit", false)),
                measure("test accuracy", 0.712, band("acc", true)),
            ],
        };
        let s = v.snapshot();
        assert_eq!(s["status"], "not robust");
        assert!(s.get("holds").is_none() && s.get("robust").is_none(), "{s}");
        assert!(s["measures"][0].get("value").is_none(), "{s}");
        assert_eq!(s["measures"][0]["holds"], true);
        assert_eq!(s["measures"][1]["value"], 0.7);
        v.robust = true;
        assert_eq!(v.snapshot()["status"], "holds");
        v.holds = false;
        assert_eq!(v.snapshot()["status"], "does not hold");
    }
}
