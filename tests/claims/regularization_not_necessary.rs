//! §3, Table 1: explicit regularization is not necessary for generalization: without
//! weight decay, dropout or augmentation, test accuracy on true labels stays within a
//! calibrated margin of the regularized run.
use crate::common::*;

#[test]
fn without_explicit_regularization_test_accuracy_stays_close_to_the_regularized_run() {
    assert_claim("regularization-not-necessary");
}
