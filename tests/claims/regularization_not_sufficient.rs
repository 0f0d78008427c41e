//! §3, Tables 1 and 2: explicit regularization is not sufficient to prevent memorization:
//! with weight decay, dropout and augmentation all on, random labels are still fitted.
use crate::common::*;

#[test]
fn with_every_explicit_regularizer_on_random_labels_are_still_fitted() {
    assert_claim("regularization-not-sufficient");
}
