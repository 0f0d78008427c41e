//! Claim 7 (§3, Tables 1 and 2): explicit regularization is not sufficient to prevent
//! memorization: with weight decay, dropout and augmentation all on, random labels are still
//! fitted to a high train accuracy.
use crate::common::*;
use rethink::claims::*;

#[test]
fn with_every_explicit_regularizer_on_random_labels_are_still_fitted() {
    let rec = run_preset("fashion-cpu-regularized-random-labels", |_| {}).unwrap();
    let min = band("regularized_random_train_acc_min");
    assert!(
        rec.summary.final_train_acc >= min,
        "train accuracy {:.4} < {min}",
        rec.summary.final_train_acc
    );
    insta::assert_json_snapshot!("regularization_not_sufficient", curve(&rec, 50));
}
