//! Verdicts do not depend on the CPU: one MLP claim and one conv-net claim, rerun as they
//! would run on an x86-64-v2 CPU (SSE4.2, no AVX), give the same verdict and the same
//! snapshot as on this machine's own kernels.
//!
//! The lesser CPU is imitated on this one: libtorch's ATen kernels at their default level,
//! MKL limited to SSE4.2, oneDNN to SSE4.1, and glibc's math functions without AVX or FMA.
//! The floats differ from this machine's own (the runs are cached apart); the snapshots hold
//! only what the calibration showed to be stable across seeds and such levels.
use crate::common::*;

/// The environment that imitates an x86-64-v2 CPU (also in scripts/calibrate.sh).
pub const SSE42: [(&str, &str); 4] = [
    ("ATEN_CPU_CAPABILITY", "default"),
    ("MKL_ENABLE_INSTRUCTIONS", "SSE4_2"),
    ("ONEDNN_MAX_CPU_ISA", "SSE41"),
    (
        "GLIBC_TUNABLES",
        "glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-F16C,-AVX512F,-AVX512BW,-AVX512DQ,-AVX512VL,-BMI1,-BMI2",
    ),
];

/// Reruns the claim test `test` of this binary in a child process at the SSE4.2 level; it
/// asserts its verdict and compares its snapshot, as it does at the native level.
pub fn rerun_at_sse42(test: &str) {
    let o = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .envs(SSE42)
        // A differing snapshot is a failure here, never a pending .snap.new to accept.
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        .output()
        .unwrap();
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        o.status.success(),
        "{test} at the SSE4.2 level:\n{out}\n{err}"
    );
    assert!(out.contains("1 passed"), "{test} did not run:\n{out}");
}

/// The imitation reaches libtorch: oneDNN reports the SSE4.1 limit.
pub fn the_sse42_environment_limits_onednn() {
    require_fashion();
    let tmp = tempdir();
    let o = rethink()
        .args([
            "--threads",
            "1",
            "run",
            "--preset",
            "fashion-grid-alexnet-gaussian",
        ])
        .args([
            "--epochs",
            "1",
            "--train-size",
            "8",
            "--test-size",
            "8",
            "-q",
            "--out",
        ])
        .arg(tmp.path().join("probe"))
        .envs(SSE42)
        .env("ONEDNN_VERBOSE", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("isa:Intel SSE4.1"),
        "oneDNN did not report the SSE4.1 limit"
    );
}

/// The claims also judged at the SSE4.2 level, each by a test `portability::CLAIM` that
/// reruns `cpu::CLAIM` there: one MLP claim and one conv-net claim.
pub const CLAIMS: [&str; 2] = ["mlp-fits-random-labels", "alexnet-fits-gaussian"];
