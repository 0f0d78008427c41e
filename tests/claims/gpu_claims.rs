//! The nightly's tests, one per GPU-scale claim of `rethink::claims::GPU`, listed once. The
//! `gpu` module (`--features gpu`) turns the list into tests that train on a CUDA device;
//! the test below, which runs in every build, checks that the list and the registry agree.

/// Calls `$then! { test_name: "claim-id"; ... }` with every GPU claim's test.
macro_rules! gpu_claim_tests {
    ($then:ident) => {
        $then! {
            fashion_alexnet_fits_true_labels: "fashion-alexnet-fits-true-labels";
            fashion_alexnet_fits_random_labels: "fashion-alexnet-fits-random-labels";
            fashion_alexnet_fits_random_pixels: "fashion-alexnet-fits-random-pixels";
            fashion_resnet18_fits_true_labels: "fashion-resnet18-fits-true-labels";
            fashion_resnet18_fits_random_labels: "fashion-resnet18-fits-random-labels";
            fashion_resnet18_fits_random_pixels: "fashion-resnet18-fits-random-pixels";
            cifar10_alexnet_fits_true_labels: "cifar10-alexnet-fits-true-labels";
            cifar10_alexnet_fits_random_labels: "cifar10-alexnet-fits-random-labels";
            cifar10_alexnet_fits_random_pixels: "cifar10-alexnet-fits-random-pixels";
            cifar10_resnet18_fits_true_labels: "cifar10-resnet18-fits-true-labels";
            cifar10_resnet18_fits_random_labels: "cifar10-resnet18-fits-random-labels";
            cifar10_resnet18_fits_random_pixels: "cifar10-resnet18-fits-random-pixels";
            fashion_alexnet_weight_decay_fits_true_labels: "fashion-alexnet-weight-decay-fits-true-labels";
            fashion_alexnet_weight_decay_fits_random_labels: "fashion-alexnet-weight-decay-fits-random-labels";
            fashion_resnet18_dropout_fits_random_labels: "fashion-resnet18-dropout-fits-random-labels";
            cifar10_alexnet_weight_decay_fits_true_labels: "cifar10-alexnet-weight-decay-fits-true-labels";
            cifar10_alexnet_weight_decay_fits_random_labels: "cifar10-alexnet-weight-decay-fits-random-labels";
            cifar10_alexnet_dropout_fits_random_labels: "cifar10-alexnet-dropout-fits-random-labels";
            cifar10_resnet18_weight_decay_fits_random_labels: "cifar10-resnet18-weight-decay-fits-random-labels";
            cifar10_resnet18_dropout_fits_random_labels: "cifar10-resnet18-dropout-fits-random-labels";
            cifar10_inception_batch_norm_and_early_stopping: "cifar10-inception-batch-norm-and-early-stopping";
        }
    };
}

macro_rules! ids {
    ($($test:ident: $id:literal;)*) => {
        [$((stringify!($test), $id)),*]
    };
}

#[test]
fn every_gpu_claim_has_one_nightly_test_and_every_test_a_claim() {
    let pairs = gpu_claim_tests!(ids);
    // scripts/nightly.sh selects a claim's test by this rule.
    for (test, id) in pairs {
        assert_eq!(test, id.replace('-', "_"), "the test of {id}");
    }
    let mut tested: Vec<&str> = pairs.iter().map(|(_, id)| *id).collect();
    let mut registry: Vec<&str> = rethink::claims::GPU.iter().map(|c| c.id).collect();
    tested.sort();
    registry.sort();
    assert_eq!(tested, registry);
}
