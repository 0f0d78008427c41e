//! §4 and §5: finite-sample expressivity and minimum-norm interpolation, on real images.
//! The experiments and their bands come from golden/theory.json (`rethink::theory`).
use crate::common::*;
use rethink::randomize::Randomization;
use rethink::theory::{self, expressivity::TheoremReport, kernel};

/// `rethink theorem` with the arguments of a config.
fn theorem_cli(c: &theory::expressivity::TheoremConfig) -> TheoremReport {
    let mut args = vec!["theorem".to_string(), "--json".into()];
    args.extend([
        "--n".into(),
        c.n.to_string(),
        "--seed".into(),
        c.seed.to_string(),
    ]);
    args.extend(["--d".into(), c.d.to_string()]);
    if let Some(k) = c.classes {
        args.extend(["--classes".into(), k.to_string()]);
    }
    if let Some(d) = c.dataset {
        require_fashion();
        args.extend(["--dataset".into(), d.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cli(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

pub fn a_2n_plus_d_relu_network_fits_random_labels_on_real_images() {
    let (t, b) = (theory::tests().unwrap(), theory::bands().unwrap());
    let r = theorem_cli(&t.theorem_images);
    assert_eq!((r.n, r.d), (t.theorem_images.n, 784));
    assert_eq!(r.weights, 2 * (r.n - r.merged - r.conflicting) + r.d);
    assert_eq!(r.class_acc_distinct, Some(1.0));
    // Judged on an independent evaluation, never the construction's own summation order.
    assert_eq!(
        r.residual_evaluation,
        theory::expressivity::RESIDUAL_EVALUATION
    );
    assert!(
        b.theorem_max_abs_residual.contains(r.max_abs_residual),
        "{r:?}"
    );
}

pub fn the_theorem_command_fits_gaussian_points_with_real_targets() {
    let (t, b) = (theory::tests().unwrap(), theory::bands().unwrap());
    let c = &t.theorem_gaussian;
    let r = theorem_cli(c);
    assert_eq!(r.weights, 2 * c.n + c.d);
    assert!(
        b.theorem_gaussian_max_rel_residual
            .contains(r.max_rel_residual),
        "{r:?}"
    );
    assert_eq!(r.class_acc_all, None);
}

fn kernel_run(r: Randomization) -> kernel::KernelReport {
    require_fashion();
    tch::set_num_threads(THREADS);
    kernel::KernelConfig {
        randomization: r,
        ..theory::tests().unwrap().kernel.clone()
    }
    .run(None, tch::Device::Cpu)
    .unwrap()
}

pub fn minimum_norm_interpolation_fits_true_and_random_labels_and_only_true_ones_generalize() {
    let b = theory::bands().unwrap();
    let truth = kernel_run(Randomization::TrueLabels);
    let random = kernel_run(Randomization::RandomLabels);
    for r in [&truth, &random] {
        assert_eq!(r.train_error, 0.0, "{r:?}");
        assert!(
            b.kernel_max_train_residual.contains(r.max_train_residual),
            "{r:?}"
        );
    }
    // Far below chance (0.9) on true labels; at chance on random ones.
    assert!(
        b.kernel_true_test_error.contains(truth.test_error),
        "{truth:?}"
    );
    let sigma = (0.1f64 * 0.9 / random.test_size as f64).sqrt();
    let z = (random.test_error - 0.9).abs() / sigma;
    assert!(b.kernel_random_chance_sigmas.contains(z), "{random:?}");
    // The random-label solution needs a larger norm (§5: yet norm alone does not explain it).
    let ratio = random.rkhs_norm / truth.rkhs_norm;
    assert!(b.kernel_norm_ratio.contains(ratio), "{ratio}");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(snapshots_dir());
    settings.bind(|| {
        insta::assert_json_snapshot!(
            "theory-kernel-1000",
            serde_json::json!({
                "true_test_error": round(truth.test_error, 3),
                "random_test_error": round(random.test_error, 3),
                "true_norm": round(truth.rkhs_norm, 1),
                "random_norm": round(random.rkhs_norm, 1),
            })
        )
    });
}
