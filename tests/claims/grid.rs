//! The AlexNet/ResNet18 grid (AlexNet and ResNet18 on Fashion-MNIST × true labels, random
//! labels and random pixels × weight decay and dropout), one test per claim of
//! `rethink::claims::GRID`. Each test trains the claim's runs through the run cache: a run
//! two claims share (the true-label runs of the last two) trains once.
use crate::common::*;

/// Defines one test per grid claim, and a test that the list is the registry's.
macro_rules! grid_tests {
    ($($test:ident: $id:literal;)*) => {
        $(
            #[test]
            fn $test() {
                assert_claim($id);
            }
        )*

        #[test]
        fn every_grid_claim_has_one_test() {
            let mut tested = vec![$($id),*];
            let mut registry: Vec<&str> = rethink::claims::GRID.iter().map(|c| c.id).collect();
            tested.sort();
            registry.sort();
            assert_eq!(tested, registry);
        }
    };
}

grid_tests! {
    grid_fits_true_labels: "grid-fits-true-labels";
    grid_fits_random_labels: "grid-fits-random-labels";
    grid_fits_random_pixels: "grid-fits-random-pixels";
    grid_regularization_not_sufficient: "grid-regularization-not-sufficient";
    grid_regularization_not_necessary: "grid-regularization-not-necessary";
    grid_architecture_over_regularizers: "grid-architecture-over-regularizers";
}
