//! The AlexNet/ResNet18 grid's claims (`rethink::claims::GRID`): AlexNet and ResNet18 on
//! Fashion-MNIST × true labels, random labels and random pixels × weight decay and dropout.
//! A run two claims share (the true-label runs of the last two) trains once.
claim_tests! {
    rethink::claims::GRID;
    grid_fits_true_labels: "grid-fits-true-labels";
    grid_fits_random_labels: "grid-fits-random-labels";
    grid_fits_random_pixels: "grid-fits-random-pixels";
    grid_regularization_not_sufficient: "grid-regularization-not-sufficient";
    grid_regularization_not_necessary: "grid-regularization-not-necessary";
    grid_architecture_over_regularizers: "grid-architecture-over-regularizers";
}
