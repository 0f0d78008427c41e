//! The `rethink` command line: it parses arguments into library calls and shows progress.
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rethink::data::{self, DatasetKind};
use rethink::experiment::{Experiment, Overrides, RunDir, Scale};
use rethink::models::{self, ModelKind};
use rethink::randomize::Randomization;
use rethink::report;
use rethink::train::{self, Stop};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Standard output could not be written: a closed pipe (`| head`) or a full disk. A command
/// then stops, quietly for a closed pipe, with its error status (1; `diff`: 2), never a
/// panic.
#[derive(Debug)]
struct StdoutError(std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for StdoutError {}

/// `println!` that passes a failed write on with `?` (as a [`StdoutError`]) instead of
/// panicking: every command's output goes through it.
macro_rules! println {
    ($($arg:tt)*) => {{
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(StdoutError)?
    }};
}

mod args;
mod info;
mod reproduce;
mod results;
mod run;
mod slurm;

use args::*;
use info::*;
use reproduce::*;
use results::*;
use run::*;
use slurm::*;

#[derive(Parser)]
#[command(
    name = "rethink",
    version,
    about = "Zhang et al. 2017, 'Understanding deep learning requires rethinking generalization', reproduced on libtorch"
)]
struct Cli {
    /// libtorch intra-op threads (default: libtorch's, the physical core count). CPU runs are
    /// bit-for-bit repeatable for a fixed thread count.
    #[arg(long, global = true, value_parser = clap::value_parser!(i32).range(1..))]
    threads: Option<i32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one experiment and write its run directory.
    Run(Box<RunArgs>),
    /// List every model with its parameter count per input shape.
    Models {
        #[arg(long)]
        json: bool,
    },
    /// Data sets: fetch, verify or describe.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// Run the suite of a scale (Fig. 1a-c and a Table 1 grid), then write the report.
    Reproduce(ReproduceArgs),
    /// Write the suite of a scale as a plan, DIR/plan.jsonl: one JSON line per run with its
    /// index, a key addressed by its config and the arguments that train it
    /// (`rethink run --plan DIR/plan.jsonl --index I`), for any scheduler to run.
    Plan(PlanArgs),
    /// Write report.md, the figures and summary.json from the run directories under DIR.
    Report {
        /// A reproduce output directory (with runs/), or a folder of run directories.
        dir: PathBuf,
    },
    /// List the claims (id, scale, statement), of one scale or all.
    Claims {
        #[arg(long)]
        scale: Option<Scale>,
        /// Ids only, one per line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Gather the run directories of the nightly's shards into OUT/runs, write the report
    /// over all of them, and append the night to a history file.
    Merge {
        /// The merged results directory (report.md, figures, summary.json, runs/).
        #[arg(long)]
        out: PathBuf,
        /// Append one JSON line per run and per judged claim to this file.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Each shard's results directory (with runs/).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
    /// Draw each claim's measures over the nights of a history file, with their bands.
    History {
        /// The history file `rethink merge --history` appends to.
        file: PathBuf,
        /// Where the trend figures go.
        #[arg(long, default_value = "trends")]
        out: PathBuf,
    },
    /// Compare two result sets run by run and claim by claim; print what moved beyond its
    /// band (nothing when nothing did). Exit status: 0 nothing moved, 1 something did,
    /// 2 an error.
    Diff { old: PathBuf, new: PathBuf },
    /// §4, Theorem 1: a two-layer ReLU net with 2n+d weights fitting n points exactly.
    Theorem(TheoremArgs),
    /// §5: the minimum-norm kernel interpolant (Gaussian kernel) on real images.
    Kernel(KernelArgs),
}

fn main() {
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        tch::set_num_threads(t);
    }
    let result = match cli.command {
        Command::Run(a) => run(*a),
        Command::Models { json } => models_cmd(json),
        Command::Data { action } => data_cmd(action),
        Command::Reproduce(a) => reproduce_cmd(a, cli.threads),
        Command::Plan(a) => plan_cmd(&a),
        Command::Report { dir } => report_cmd(&dir),
        Command::Claims { scale, quiet } => claims_cmd(scale, quiet),
        Command::Merge {
            out,
            history,
            shards,
        } => merge_cmd(&out, &shards, history.as_deref()),
        Command::History { file, out } => history_cmd(&file, &out),
        Command::Diff { old, new } => match diff_cmd(&old, &new) {
            Ok(moved) => std::process::exit(i32::from(moved)),
            Err(e) => fail(&e, 2),
        },
        Command::Theorem(a) => theorem_cmd(a),
        Command::Kernel(a) => kernel_cmd(a),
    };
    if let Err(e) = result {
        // A run stopped by SIGTERM with its checkpoint saved asks to be run again.
        let stopped = e.chain().any(|c| {
            matches!(
                c.downcast_ref::<rethink::error::Error>(),
                Some(rethink::error::Error::Stopped { .. })
            )
        });
        let status = if stopped {
            rethink::suite::slurm::REQUEUE_STATUS
        } else {
            1
        };
        fail(&e, status);
    }
}

/// Ends the command with `status` after `e`: one line, the error and its causes, except for
/// a closed standard output, where the reader has gone and there is nothing to say.
fn fail(e: &anyhow::Error, status: i32) -> ! {
    let closed = e
        .downcast_ref::<StdoutError>()
        .is_some_and(|s| s.0.kind() == std::io::ErrorKind::BrokenPipe);
    if !closed {
        eprintln!("error: {e:#}");
    }
    std::process::exit(status);
}
