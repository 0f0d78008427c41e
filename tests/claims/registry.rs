//! The claims' tests, generated from one list per scale by [`claim_tests!`]: one test per
//! claim of the registry, named after its id (`-` becomes `_`), which trains the claim's
//! runs through the run cache, asserts its verdict and compares its snapshot
//! (`tests/claims/snapshots/ID.snap`); and a test, in every build, that the list is the
//! registry's, so that a new claim without a test (or a test without a claim) fails the
//! build's tests rather than going unnoticed. The claims themselves (words, runs, check,
//! bands) live in `rethink::claims`.

/// `claim_tests! { REGISTRY; test_name: "claim-id"; ... }`: the tests of the claims of
/// `REGISTRY` (a `&[Claim]`), and `every_claim_has_one_test`.
macro_rules! claim_tests {
    ($registry:expr; $($test:ident: $id:literal;)*) => {
        $(
            #[test]
            fn $test() {
                $crate::common::assert_claim($id);
            }
        )*

        #[test]
        fn every_claim_has_one_test() {
            let pairs = [$((stringify!($test), $id)),*];
            for (test, id) in pairs {
                assert_eq!(test, id.replace('-', "_"), "the test of {id}");
            }
            let mut tested: Vec<&str> = pairs.iter().map(|(_, id)| *id).collect();
            let mut registry: Vec<&str> = $registry.iter().map(|c| c.id).collect();
            tested.sort();
            registry.sort();
            assert_eq!(tested, registry);
        }
    };
}
