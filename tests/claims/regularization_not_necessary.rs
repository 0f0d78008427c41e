//! Claim 6 (§3, Table 1): explicit regularization is not necessary for generalization:
//! without weight decay, dropout or augmentation, test accuracy on true labels stays within
//! a calibrated margin of the regularized run.
use crate::common::*;
use rethink::claims::*;

#[test]
fn without_explicit_regularization_test_accuracy_stays_close_to_the_regularized_run() {
    let plain = run_preset("fashion-cpu-true-labels", |_| {}).unwrap();
    let reg = run_preset("fashion-cpu-regularized-true-labels", |_| {}).unwrap();
    fitted(&plain).unwrap();
    let gap = reg.summary.final_test_acc - plain.summary.final_test_acc;
    assert!(
        gap <= band("regularization_gap_max"),
        "regularized {:.4} vs plain {:.4}: gap {gap:.4}",
        reg.summary.final_test_acc,
        plain.summary.final_test_acc
    );
    generalizes(&plain, band("true_labels_test_acc_min")).unwrap();
    insta::assert_json_snapshot!(
        "regularization_not_necessary",
        serde_json::json!({
            "plain_test_acc": round(plain.summary.final_test_acc, 2),
            "regularized_test_acc": round(reg.summary.final_test_acc, 2),
            "regularized": curve(&reg, 50),
        })
    );
}
