//! Claim 8 (beyond the paper: Arpit et al. 2017, "A closer look at memorization"): with half
//! the labels corrupted, the network fits the clean examples before the corrupted ones.
use crate::common::*;
use rethink::claims::*;

#[test]
fn clean_examples_are_fitted_before_corrupted_ones() {
    let rec = run_preset("fashion-cpu-corrupt-0.5", |_| {}).unwrap();
    let (epoch, clean, corrupted) = clean_first(&rec, 0.9, band("arpit_corrupted_max")).unwrap();
    fitted(&rec).unwrap();
    insta::assert_json_snapshot!(
        "clean_before_corrupted",
        serde_json::json!({
            "epoch_clean_reaches_0.9": epoch,
            "clean": round(clean, 2),
            "corrupted": round(corrupted, 2),
        })
    );
}
