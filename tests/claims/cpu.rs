//! The CPU-scale claims (`rethink::claims::CPU`), trained for real on Fashion-MNIST subsets:
//! §2 and Fig. 1a (true labels, random labels, shuffled and random pixels, Gaussian inputs
//! are all fitted; random labels more slowly by a small factor), Fig. 1b/1c (label
//! corruption), §3 and Tables 1-2 (explicit regularization neither necessary nor
//! sufficient), and Arpit et al.'s clean-before-corrupted order.
claim_tests! {
    rethink::claims::CPU;
    mlp_fits_true_labels: "mlp-fits-true-labels";
    mlp_fits_random_labels: "mlp-fits-random-labels";
    mlp_fits_shuffled_pixels: "mlp-fits-shuffled-pixels";
    mlp_fits_random_pixels: "mlp-fits-random-pixels";
    mlp_fits_gaussian: "mlp-fits-gaussian";
    alexnet_fits_true_labels: "alexnet-fits-true-labels";
    alexnet_fits_random_labels: "alexnet-fits-random-labels";
    alexnet_fits_shuffled_pixels: "alexnet-fits-shuffled-pixels";
    alexnet_fits_random_pixels: "alexnet-fits-random-pixels";
    alexnet_fits_gaussian: "alexnet-fits-gaussian";
    mlp_random_labels_fit_slower: "mlp-random-labels-fit-slower";
    alexnet_random_labels_fit_slower: "alexnet-random-labels-fit-slower";
    label_corruption: "label-corruption";
    clean_before_corrupted: "clean-before-corrupted";
    regularization_not_necessary: "regularization-not-necessary";
    regularization_not_sufficient: "regularization-not-sufficient";
}
