//! §2, Fig. 1b and 1c: with label corruption P from 0 to 1, training still reaches 100%
//! accuracy at every P, test error grows with P, and time to fit grows with P.
use crate::common::*;

#[test]
fn test_error_and_time_to_fit_grow_with_label_corruption_while_training_fits() {
    assert_claim("label-corruption");
}
