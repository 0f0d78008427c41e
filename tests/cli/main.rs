//! The command line and the infrastructure under it, run as a user runs them: `rethink`'s
//! subcommands (run, reproduce, data, presets), run directories and resuming, hostile
//! input, the evaluation cadence, the tests' run cache and the libtorch link. The paper's
//! claims are tested by the `claims` binary (tests/claims). Zhang et al. 2017,
//! "Understanding deep learning requires rethinking generalization".
mod common;

mod data_cli;
mod eval_cadence;
mod hostile;
mod libtorch;
mod presets_cli;
mod reproduce;
mod resume;
mod run_cache;
mod run_cli;
mod run_dir;
