//! Claim 4 (§2, Fig. 1a: "fitting random labels ... only a small constant factor slower"):
//! random labels take longer to fit than true labels, by a factor inside a calibrated band.
use crate::common::*;
use rethink::claims::*;

#[test]
fn random_labels_fit_more_slowly_by_a_small_constant_factor() {
    let truth = run_preset("fashion-cpu-true-labels", |_| {}).unwrap();
    let random = run_preset("fashion-cpu-random-labels", |_| {}).unwrap();
    // Time to 100% train accuracy (the paper's "zero training loss"): the band of the claim.
    let r100 = slowdown(
        &random,
        &truth,
        1.0,
        band("slowdown_fit_min"),
        band("slowdown_fit_max"),
    )
    .unwrap();
    // Time to 90%: the true labels' early lead, larger at this scale (see golden/).
    let r90 = slowdown(
        &random,
        &truth,
        0.9,
        band("slowdown_90_min"),
        band("slowdown_90_max"),
    )
    .unwrap();
    insta::assert_json_snapshot!(
        "slowdown",
        serde_json::json!({
            "ratio_to_fit": round(r100, 1),
            "ratio_to_0.9": round(r90, 1),
        })
    );
}
