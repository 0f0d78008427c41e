//! The `rethink` command line: it parses arguments into library calls and shows progress.
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rethink::data::{self, DatasetKind};
use rethink::experiment::{Experiment, RunDir, Scale};
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

#[derive(Args)]
struct ReproduceArgs {
    /// cpu: Fashion-MNIST subsets (the MLP, AlexNet, and the AlexNet/ResNet18 grid); grid:
    /// the AlexNet/ResNet18 grid alone; gpu: full data sets, every model; smoke: the
    /// nightly's Fashion-MNIST claims in miniature, a few minutes on CPU.
    #[arg(long, default_value = "cpu")]
    scale: Scale,
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// auto, cpu, cuda or cuda:N (default: $RETHINK_DEVICE, else auto)
    #[arg(long, env = "RETHINK_DEVICE", default_value = "auto")]
    device: String,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the suite's run names and exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    runs: SuiteArgs,
    /// Train this many runs at once, each job in its own process (with `--threads 1`, each
    /// run's numbers are the ones it gives alone); the report is written once all finish.
    /// At most 256.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    /// Internal, for --jobs: train only the suite's runs K, K+N, K+2N... and write no report.
    #[arg(long, hide = true, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Where the runs train: local (this machine, --jobs at once) or slurm (a job array over
    /// the suite's plan, OUT/plan.jsonl, and a merge job that writes the report; OUT must be
    /// on a filesystem every node sees).
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    #[command(flatten)]
    slurm: SlurmArgs,
}

/// Which runs of a scale's suite: its seeds, and a subset by name.
#[derive(Args)]
struct SuiteArgs {
    /// Run every experiment of the suite with this seed instead of its preset's (0).
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run every experiment of the suite over seeds 0..N-1 (seed 0 in runs/NAME, seed K in
    /// runs/NAME-seedK); the report gives medians and ranges over seeds and counts each
    /// claim's verdicts. Finished runs are reused, so --seeds 3 after a plain reproduce
    /// trains only seeds 1 and 2. At most 1,000.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    /// Only the suite's run with this name (repeatable; --list shows the names). The
    /// claims whose runs are left out are judged incomplete.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
}

impl SuiteArgs {
    /// The suite of `scale` with these seeds, and only the runs named.
    fn suite(&self, scale: Scale) -> Result<Vec<Experiment>> {
        let mut suite = rethink::suite::experiments(scale);
        if let Some(seed) = self.seed {
            for e in &mut suite {
                e.train.seed = seed;
            }
        }
        let suite = rethink::suite::over_seeds(&suite, self.seeds);
        Ok(rethink::suite::only(suite, &self.only)?)
    }

    /// These flags as typed, for a job process.
    fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.seeds > 1 {
            v.extend(["--seeds".into(), self.seeds.to_string()]);
        }
        if let Some(s) = self.seed {
            v.extend(["--seed".into(), s.to_string()]);
        }
        for n in &self.only {
            v.extend(["--only".into(), n.clone()]);
        }
        v
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Executor {
    Local,
    Slurm,
}

/// The flags of `reproduce --executor slurm`.
#[derive(Args)]
#[command(next_help_heading = "Slurm executor (--executor slurm)")]
struct SlurmArgs {
    /// The partition to submit to (default: the cluster's default partition).
    #[arg(long)]
    partition: Option<String>,
    /// GPUs per run, as --gres=gpu:N (default: 1 at --scale gpu, else 0).
    #[arg(long)]
    gpus_per_run: Option<u32>,
    /// CPUs per run; also each run's libtorch thread count unless --threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_run: u32,
    /// Memory per run, as sbatch's --mem (16G).
    #[arg(long)]
    mem: Option<String>,
    /// Time limit per run, as sbatch's --time (2:00:00). A run that reaches it is
    /// sent SIGTERM two minutes before, saves a checkpoint and is requeued.
    #[arg(long)]
    time: Option<String>,
    /// At most this many runs at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: Option<u32>,
    /// An argument for every sbatch, as it is (repeatable): --sbatch-arg=--account=lab
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Write the plan and the batch scripts and print the sbatch commands; submit
    /// nothing.
    #[arg(long)]
    dry_run: bool,
    /// Wait for every task and the merge job, then print the report's verdicts;
    /// exit 1 when a run failed (the merge job is then cancelled).
    #[arg(long)]
    wait: bool,
}

impl SlurmArgs {
    /// The slurm flags given, as typed: refused with --executor local.
    fn given(&self) -> Vec<&'static str> {
        [
            (self.partition.is_some(), "--partition"),
            (self.gpus_per_run.is_some(), "--gpus-per-run"),
            (self.cpus_per_run != 1, "--cpus-per-run"),
            (self.mem.is_some(), "--mem"),
            (self.time.is_some(), "--time"),
            (self.max_parallel.is_some(), "--max-parallel"),
            (!self.sbatch_args.is_empty(), "--sbatch-arg"),
            (self.dry_run, "--dry-run"),
            (self.wait, "--wait"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }

    fn options(&self, scale: Scale) -> rethink::suite::slurm::SlurmOptions {
        rethink::suite::slurm::SlurmOptions {
            partition: self.partition.clone(),
            gpus_per_run: self.gpus_per_run.unwrap_or(u32::from(scale == Scale::Gpu)),
            cpus_per_run: self.cpus_per_run,
            mem: self.mem.clone(),
            time: self.time.clone(),
            max_parallel: self.max_parallel,
            sbatch_args: self.sbatch_args.clone(),
        }
    }
}

#[derive(Args)]
struct PlanArgs {
    /// The scale whose suite is planned (see reproduce --scale).
    #[arg(long, default_value = "cpu")]
    scale: Scale,
    #[command(flatten)]
    runs: SuiteArgs,
    /// The plan's folder: DIR/plan.jsonl, and the runs in DIR/runs/NAME.
    #[arg(long)]
    out: PathBuf,
}

/// `K/N` with K < N.
fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N")?;
    let (k, n): (usize, usize) = (
        k.parse().map_err(|_| "K is not a number")?,
        n.parse().map_err(|_| "N is not a number")?,
    );
    if k >= n {
        return Err(format!("shard {k} of {n} does not exist"));
    }
    Ok((k, n))
}

#[derive(Args)]
struct TheoremArgs {
    /// Number of points.
    #[arg(long)]
    n: usize,
    /// Dimension of random Gaussian points (ignored with --dataset: images have 784).
    #[arg(long, default_value_t = 10)]
    d: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Random labels in 0..C instead of real-valued targets.
    #[arg(long)]
    classes: Option<u32>,
    /// Use the first N training images (raw pixel values) with random labels (10 classes
    /// unless --classes) instead of Gaussian points.
    #[arg(long)]
    dataset: Option<DatasetKind>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct KernelArgs {
    #[arg(long, default_value = "fashion-mnist")]
    dataset: DatasetKind,
    #[arg(long, default_value_t = 2000)]
    train_size: usize,
    #[arg(long, default_value_t = 2000)]
    test_size: usize,
    /// true-labels, random-labels or corrupt:P
    #[arg(long, default_value = "true-labels")]
    randomization: Randomization,
    /// Bandwidth of k(x, x') = exp(-gamma |x - x'|^2) on pixels in [0, 1].
    #[arg(long, default_value_t = rethink::theory::kernel::DEFAULT_GAMMA)]
    gamma: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// auto: f64 where its 16·n² bytes fit in the available memory, else the kernel matrix
    /// in f32 (4·n² bytes) factored in place, refined in f64; or f64, f32-refined
    #[arg(long, default_value = "auto")]
    solver: rethink::theory::kernel::Solver,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum DataAction {
    /// Download from the upstream URLs, verify the MD5 sums, then move into place.
    Fetch(DataArgs),
    /// Check every file against the upstream MD5 sums.
    Verify(DataArgs),
    /// Where the data set is, its image counts, shape and per-channel statistics.
    Info(DataArgs),
}

#[derive(Args)]
struct DataArgs {
    /// The data set.
    dataset: DatasetKind,
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// A named preset (see --list-presets); the default is fashion-cpu-true-labels.
    #[arg(long, conflicts_with = "config")]
    preset: Option<String>,
    /// A config.json, for example a run directory's, to rerun.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the preset names and exit.
    #[arg(long)]
    list_presets: bool,
    #[command(flatten)]
    overrides: Overrides,
    /// auto, cpu, cuda or cuda:N (default: $RETHINK_DEVICE, else auto)
    #[arg(long, env = "RETHINK_DEVICE", default_value = "auto")]
    device: String,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The run's name (in config.json and summary.json). Default: the preset's or config's
    /// name, or, when flags change what runs, the preset it then equals or a name made from
    /// its data set, model, randomization and a hash of its config.
    #[arg(long)]
    name: Option<String>,
    /// The run directory to write.
    #[arg(long, required_unless_present_any = ["list_presets", "resume", "plan"])]
    out: Option<PathBuf>,
    /// Train run I (--index) of this plan (`rethink plan`) into the plan's folder,
    /// DIR/runs/NAME: a finished run exits 0 at once, an interrupted one resumes from its
    /// checkpoint. On SIGTERM a run stops at its next step with its checkpoint saved and
    /// exits with status 75, "requeue me".
    #[arg(long, requires = "index", conflicts_with_all = ["out", "preset", "config", "force", "name", "resume", "list_presets", "keep_checkpoint"])]
    plan: Option<PathBuf>,
    /// The plan's run to train (its line, from 0).
    #[arg(long, requires = "plan")]
    index: Option<usize>,
    /// Continue the interrupted run in this run directory from its last checkpoint, as its
    /// config.json says (flags that change the experiment are refused).
    #[arg(long, conflicts_with_all = ["out", "preset", "config", "force", "name"])]
    resume: Option<PathBuf>,
    /// Keep the checkpoint once the run has finished (it is removed by default).
    #[arg(long)]
    keep_checkpoint: bool,
    /// Overwrite a non-empty run directory.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The flags of `rethink run` that change what runs (beyond where and how it runs), over
/// a preset or config. The flags given are read off the struct itself (its fields that are
/// set), so [`Overrides::apply`] and `--resume`'s refusal cannot disagree.
#[derive(Args, serde::Serialize)]
struct Overrides {
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<DatasetKind>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<ModelKind>,
    /// true-labels, random-labels, shuffled-pixels, random-pixels, gaussian or corrupt:P
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    randomization: Option<Randomization>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    train_size: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    test_size: Option<usize>,
    /// The maximum number of epochs.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    epochs: Option<usize>,
    /// Stop once train accuracy reaches this (0 to 1).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    target_train_acc: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_size: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    lr: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    weight_decay: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    dropout: Option<f64>,
    /// How parameters start: tch (tch's layer defaults, the presets') or pytorch (PyTorch's
    /// nn.Linear, nn.Conv2d and nn.BatchNorm2d defaults).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<rethink::models::Init>,
    /// Random crop and horizontal flip.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    augment: bool,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// Run the convolutions in channels-last (NHWC) layout.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    channels_last: bool,
    /// Mixed precision (CUDA only): fp16 autocast with dynamic loss scaling.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    amp: bool,
    /// Evaluate the test set every N epochs and after the last (0: after the last only).
    /// Default: the preset's or config's (1 at full scale, 0 at the other scales).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    test_every: Option<usize>,
}

impl Overrides {
    /// The flags given, as typed (`--lr`, `--augment`).
    fn given(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m
                .keys()
                .map(|k| format!("--{}", k.replace('_', "-")))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `e` with every flag given applied.
    fn apply(&self, e: &mut Experiment) {
        let a = self;
        if let Some(d) = a.dataset {
            *e = e.clone().on_dataset(d);
        }
        macro_rules! set {
            ($($($field:ident).+ = $arg:expr),* $(,)?) => { $( if let Some(v) = $arg { e.$($field).+ = v; } )* };
        }
        set!(
            model = a.model,
            randomization = a.randomization,
            train.max_epochs = a.epochs,
            train.batch_size = a.batch_size,
            train.lr = a.lr,
            train.weight_decay = a.weight_decay,
            dropout = a.dropout,
            init = a.init,
            train.seed = a.seed,
            train.test_every = a.test_every
        );
        if a.train_size.is_some() {
            e.train_size = a.train_size;
        }
        if a.test_size.is_some() {
            e.test_size = a.test_size;
        }
        if a.target_train_acc.is_some() {
            e.train.target_train_acc = a.target_train_acc;
        }
        e.train.augment |= a.augment;
        e.train.channels_last |= a.channels_last;
        e.train.amp |= a.amp;
    }
}

fn experiment_from(a: &RunArgs) -> Result<Experiment> {
    let base = match (&a.config, &a.preset) {
        (Some(path), _) => Experiment::from_file(path)?,
        (None, Some(p)) => Experiment::preset(p)?,
        (None, None) => Experiment::preset("fashion-cpu-true-labels")?,
    };
    let mut e = base.clone();
    a.overrides.apply(&mut e);
    // The name says what runs: flags that change the preset or config change the name.
    match &a.name {
        Some(n) => e.name.clone_from(n),
        None if e != base => e.name = e.derived_name(),
        None => {}
    }
    e.validate()?;
    Ok(e)
}

/// ` test acc 0.123` for a progress line, empty at an epoch whose test set was not evaluated.
fn test_acc_note(m: &rethink::train::EpochMetrics) -> String {
    m.test_acc
        .map_or_else(String::new, |a| format!(" test acc {a:.3}"))
}

fn bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] epoch {pos}/{len} {msg} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb
}

/// SIGTERM (a scheduler's time limit or preemption, or `reproduce --jobs` ending) asks the
/// training to stop at its next step with a checkpoint saved; the command then exits with
/// [`rethink::suite::slurm::REQUEUE_STATUS`]. A second SIGTERM ends the process at once.
fn stop_on_sigterm() {
    extern "C" fn on_term(_: libc::c_int) {
        rethink::train::request_stop();
        // SAFETY: signal() is async-signal-safe; the default action ends the process.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
        }
    }
    // SAFETY: the handler only stores an atomic and calls signal().
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_term as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

fn run(a: RunArgs) -> Result<()> {
    if a.list_presets {
        for n in Experiment::preset_names() {
            println!("{n}");
        }
        return Ok(());
    }
    let device = train::parse_device(&a.device)?;
    stop_on_sigterm();
    if let (Some(plan), Some(index)) = (&a.plan, a.index) {
        return run_planned(&a, plan, index, device);
    }
    // Everything that can be checked is checked before a run directory is touched: a run
    // that cannot start (no data, no CUDA) must not cost an earlier run its files.
    let (mut dir, exp, out) = match &a.resume {
        Some(path) => {
            let given = a.overrides.given();
            if !given.is_empty() {
                bail!(
                    "--resume continues the run as its config.json says; drop the flags that change the experiment ({})",
                    given.join(", ")
                );
            }
            // Opening a run to resume it keeps its config, metrics and checkpoint.
            let (dir, exp) = RunDir::resume(path)?;
            rethink::experiment::check_runnable(&exp, device, a.data_dir.as_deref())?;
            (dir, exp, path.clone())
        }
        None => {
            let exp = experiment_from(&a)?;
            rethink::experiment::check_runnable(&exp, device, a.data_dir.as_deref())?;
            let out = a.out.clone().expect("clap requires --out");
            (RunDir::create(&out, a.force)?, exp, out)
        }
    };
    dir.keep_checkpoint = a.keep_checkpoint;
    let pb = bar(exp.train.max_epochs as u64, a.quiet);
    pb.set_prefix(exp.name.clone());
    let rec = dir.train(&exp, device, a.data_dir.as_deref(), &mut |m| {
        pb.set_position(m.epoch as u64);
        pb.set_message(format!(
            "train acc {:.3}{} loss {:.4}",
            m.train_acc,
            test_acc_note(m),
            m.train_loss
        ));
    });
    pb.finish_and_clear();
    let rec = rec?;
    let s = &rec.summary;
    println!(
        "{}: {:?} after {} epochs ({} steps, {:.1} s on {}): train acc {:.4}, test acc {:.4}, epochs to fit {}",
        exp.name,
        s.status,
        s.epochs,
        s.steps,
        s.wall_s,
        s.device,
        s.final_train_acc,
        s.final_test_acc,
        s.epochs_to_fit.map_or("never".into(), |e| e.to_string())
    );
    println!("wrote {}", out.display());
    if s.status == Stop::NonFiniteLoss {
        bail!(
            "training stopped at epoch {}: the loss became non-finite (see {})",
            s.epochs,
            out.join("summary.json").display()
        );
    }
    Ok(())
}

/// What a run about to train does with its directory, for one line above the progress
/// bars: moved aside and trained anew, resumed, or trained anew; `None` for a new run.
fn start_note(
    set_aside: Option<&rethink::suite::SetAside>,
    resumed: bool,
    redone: bool,
) -> Option<String> {
    match (set_aside, resumed, redone) {
        (Some(a), _, _) => Some(format!(
            "{}; moved it to {} and training it anew",
            a.why,
            a.to.display()
        )),
        (None, true, _) => Some("resuming from its checkpoint".into()),
        (None, _, true) => Some("training it anew".into()),
        _ => None,
    }
}

/// `run --plan P --index I`: the plan's run I, into the plan's folder.
fn run_planned(a: &RunArgs, plan: &Path, index: usize, device: tch::Device) -> Result<()> {
    use rethink::suite::{plan as plans, Event};
    let given = a.overrides.given();
    if !given.is_empty() {
        bail!(
            "--plan runs the plan's config as it is; drop the flags that change the experiment ({})",
            given.join(", ")
        );
    }
    let entry = plans::entry(plan, index)?;
    let exp = &entry.config;
    let out = plans::results_dir(plan);
    let path = rethink::suite::runs_dir(&out).join(&exp.name);
    if RunDir::finished_run(&path, exp).is_some() {
        println!("{}: already finished in {}", exp.name, path.display());
        return Ok(());
    }
    rethink::experiment::check_runnable(exp, device, a.data_dir.as_deref())?;
    let pb = bar(exp.train.max_epochs as u64, a.quiet);
    pb.set_prefix(exp.name.clone());
    let mut done = None;
    let result = rethink::suite::train_one(
        exp,
        (index, 1),
        &out,
        device,
        a.data_dir.as_deref(),
        &mut |ev| match ev {
            Event::Start {
                resumed,
                redone,
                set_aside,
                ..
            } => {
                if let Some(note) = start_note(set_aside.as_ref(), resumed, redone) {
                    pb.suspend(|| eprintln!("{}: {note}", exp.name));
                }
            }
            Event::Epoch(m) => {
                pb.set_position(m.epoch as u64);
                pb.set_message(format!("train acc {:.3}{}", m.train_acc, test_acc_note(m)));
            }
            Event::Done(s) => {
                done = Some((s.status, s.epochs, s.final_train_acc, s.final_test_acc))
            }
        },
    );
    pb.finish_and_clear();
    result?;
    if let Some((status, epochs, train, test)) = done {
        println!(
            "{}: {status:?} after {epochs} epochs: train acc {train:.4}, test acc {test:.4}",
            exp.name
        );
    }
    println!("wrote {}", path.display());
    Ok(())
}

fn plan_cmd(a: &PlanArgs) -> Result<()> {
    let suite = a.runs.suite(a.scale)?;
    let (path, entries) = rethink::suite::plan::write(&a.out, &suite)?;
    println!("wrote {} ({} runs)", path.display(), entries.len());
    println!(
        "train run I with: rethink run --plan {} --index I",
        path.display()
    );
    Ok(())
}

fn models_cmd(json: bool) -> Result<()> {
    let shapes = [(1i64, 28i64), (3, 28), (3, 32)];
    let mut rows = Vec::new();
    for &kind in ModelKind::all() {
        let mut counts = serde_json::Map::new();
        for (c, s) in shapes {
            let n = models::param_count(kind, &models::Config::new(c, s, 10))?;
            counts.insert(format!("{c}x{s}x{s}"), n.into());
        }
        rows.push((kind, counts));
    }
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|(k, c)| serde_json::json!({"model": k.name(), "params": c, "classes": 10}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{:<16}{:>14}{:>14}{:>14}",
            "model", "1x28x28", "3x28x28", "3x32x32"
        );
        for (k, c) in rows {
            let n = |key: &str| c[key].as_i64().unwrap_or_default();
            println!(
                "{:<16}{:>14}{:>14}{:>14}",
                k.name(),
                n("1x28x28"),
                n("3x28x28"),
                n("3x32x32")
            );
        }
    }
    Ok(())
}

fn data_cmd(action: DataAction) -> Result<()> {
    match action {
        DataAction::Fetch(a) => {
            let dir = data::fetch_dir(a.dataset, a.data_dir.as_deref())?;
            let pb = ProgressBar::new(0);
            pb.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                    .expect("valid template"),
            );
            let got = data::fetch::fetch(a.dataset, &dir, &mut |name, done, total| {
                pb.set_message(name.to_string());
                if let Some(t) = total {
                    pb.set_length(t);
                }
                pb.set_position(done);
            });
            pb.finish_and_clear();
            for v in got? {
                println!("ok {} (md5 {})", v.path.display(), v.md5);
            }
        }
        DataAction::Verify(a) => {
            for v in data::verify(a.dataset, a.data_dir.as_deref())? {
                let how = if v.exact {
                    "matches the published md5"
                } else {
                    "recompressed copy: decompressed payload matches upstream"
                };
                println!("ok {}: {how}", v.path.display());
            }
        }
        DataAction::Info(a) => {
            let located = data::locate(a.dataset, a.data_dir.as_deref())?;
            let raw = data::load_located(a.dataset, &located)?;
            println!("data set: {}", a.dataset);
            for f in &raw.files {
                println!("file: {}", f.display());
            }
            for (name, s) in [("train", &raw.train), ("test", &raw.test)] {
                let size = s.images.size();
                let (mean, std) =
                    data::channel_stats(&(s.images.to_kind(tch::Kind::Float) / 255.0));
                let fmt = |v: &[f64]| {
                    v.iter()
                        .map(|x| format!("{x:.4}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!(
                    "{name}: {} images of {}x{}x{}; per-channel mean [{}], std [{}] (pixels in [0, 1])",
                    size[0],
                    size[1],
                    size[2],
                    size[3],
                    fmt(&mean),
                    fmt(&std)
                );
            }
        }
    }
    Ok(())
}

fn reproduce_cmd(a: ReproduceArgs, threads: Option<i32>) -> Result<()> {
    let mut suite = a.runs.suite(a.scale)?;
    if a.executor == Executor::Local {
        let given = a.slurm.given();
        if !given.is_empty() {
            bail!("{} apply to --executor slurm only", given.join(", "));
        }
    }
    if a.list {
        for e in &suite {
            println!("{}", e.name);
        }
        return Ok(());
    }
    let device = train::parse_device(&a.device)?;
    if a.executor == Executor::Slurm {
        if a.jobs > 1 {
            bail!("--jobs is for --executor local; with slurm, --max-parallel caps how many runs train at once");
        }
        return reproduce_on_slurm(&a, &suite, threads);
    }
    if a.jobs > 1 && a.shard.is_none() {
        return reproduce_in_jobs(&a, threads);
    }
    // A job of --jobs, or the whole suite in this process: SIGTERM stops the run in
    // training at its next step with its checkpoint saved.
    stop_on_sigterm();
    if let Some((k, n)) = a.shard {
        suite = rethink::suite::shard(suite, k, n);
    }
    // A job of --jobs logs plain lines: several jobs share the terminal.
    let multi = if a.shard.is_some() {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let overall = multi.add(ProgressBar::new(suite.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("suite [{bar:30}] run {pos}/{len} ({elapsed}) {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let current = multi.add(bar(0, false));
    let mut skipped = 0;
    rethink::suite::reproduce(
        &suite,
        &a.out,
        device,
        a.data_dir.as_deref(),
        &mut |ev| match ev {
            rethink::suite::Event::Start {
                index,
                exp,
                skipped: skip,
                resumed,
                redone,
                set_aside,
                ..
            } => {
                overall.set_position(index as u64);
                if let Some(note) = start_note(set_aside.as_ref(), resumed, redone) {
                    // Printed above the progress bars (or plainly, when they are hidden).
                    multi.suspend(|| eprintln!("{}: {note}", exp.name));
                }
                if skip {
                    skipped += 1;
                    overall.set_message(format!("{} already complete, skipped", exp.name));
                    if multi.is_hidden() {
                        // A log line: a closed stdout must not stop the training.
                        let _ = writeln!(
                            std::io::stdout().lock(),
                            "{}: already complete, skipped",
                            exp.name
                        );
                    }
                } else {
                    overall.set_message(String::new());
                    current.reset();
                    current.set_length(exp.train.max_epochs as u64);
                    current.set_prefix(exp.name.clone());
                }
            }
            rethink::suite::Event::Epoch(m) => {
                current.set_position(m.epoch as u64);
                current.set_message(format!("train acc {:.3}{}", m.train_acc, test_acc_note(m)));
            }
            rethink::suite::Event::Done(s) => {
                let line = format!(
                    "{}: {:?}, train {:.4}, test {:.4}, {} epochs, {:.0} s",
                    s.name, s.status, s.final_train_acc, s.final_test_acc, s.epochs, s.wall_s
                );
                // Without a terminal the bars are hidden: log plain lines instead.
                if multi.is_hidden() {
                    let _ = writeln!(std::io::stdout().lock(), "{line}");
                } else {
                    let _ = multi.println(line);
                }
            }
        },
    )?;
    overall.finish_and_clear();
    current.finish_and_clear();
    if skipped > 0 {
        println!("{skipped} run(s) were already complete and were not redone");
    }
    if a.shard.is_some() {
        return Ok(());
    }
    report_cmd(&a.out)
}

/// `reproduce --executor slurm`: the suite's plan in OUT/plan.jsonl, a job array over its
/// unfinished runs and a merge job that writes the report once all of them succeed.
fn reproduce_on_slurm(a: &ReproduceArgs, suite: &[Experiment], threads: Option<i32>) -> Result<()> {
    use rethink::suite::{plan as plans, slurm};
    let (plan, entries) = plans::write(&a.out, suite)?;
    let out = plans::results_dir(&plan);
    let runs = rethink::suite::runs_dir(&out);
    let unfinished =
        |e: &&plans::PlanEntry| RunDir::finished_run(&runs.join(&e.name), &e.config).is_none();
    let pending: Vec<usize> = entries.iter().filter(unfinished).map(|e| e.index).collect();
    println!(
        "wrote {} ({} runs, {} to train)",
        plan.display(),
        entries.len(),
        pending.len()
    );
    if pending.is_empty() {
        println!("every run of the plan has finished: nothing to submit; the report:");
        return report_cmd(&out);
    }
    let opts = a.slurm.options(a.scale);
    let mut run_flags = vec!["--device".to_string(), a.device.clone()];
    if let Some(d) = &a.data_dir {
        let d = std::fs::canonicalize(d).with_context(|| format!("{}", d.display()))?;
        run_flags.extend(["--data-dir".into(), d.to_string_lossy().into_owned()]);
    }
    let launch = slurm::Launch {
        exe: std::env::current_exe().context("finding this binary for the batch scripts")?,
        threads: threads.map_or(opts.cpus_per_run, |t| t as u32),
        run_flags,
    };
    // A dry run works without a cluster, assuming Slurm's default array limit.
    let max = if a.slurm.dry_run && !slurm::configured() {
        println!(
            "no Slurm configuration found (SLURM_CONF, /etc/slurm/slurm.conf): assuming MaxArraySize {}",
            slurm::DEFAULT_MAX_ARRAY_SIZE
        );
        slurm::DEFAULT_MAX_ARRAY_SIZE
    } else {
        slurm::max_array_size()?
    };
    let scripts = slurm::write_scripts(&plan, &pending, &launch, &opts, max)?;
    let (merge, arrays) = scripts
        .split_last()
        .expect("the merge job's script is last");
    if a.slurm.dry_run {
        let ids: Vec<String> = (0..arrays.len()).map(|k| format!("<array {k}>")).collect();
        for s in arrays {
            println!("sbatch {}", s.sbatch.join(" "));
        }
        println!(
            "sbatch {} {}",
            slurm::after_ok(&ids),
            merge.sbatch.join(" ")
        );
        println!("dry run: nothing submitted");
        return Ok(());
    }
    let logs = slurm::slurm_dir(&out).join("logs");
    let mut ids = Vec::new();
    for s in arrays {
        let id = slurm::submit(s, &[])?;
        println!(
            "submitted array job {id}: {} run(s) of the plan (indices {}), logs {}/{id}_*.out",
            s.indices.len(),
            slurm::array_spec(&s.indices, None),
            logs.display()
        );
        ids.push(id);
    }
    let merge_id = slurm::submit(merge, &[slurm::after_ok(&ids)])?;
    println!(
        "submitted merge job {merge_id}: rethink report {} once every run has succeeded (cancelled if one fails), log {}/merge-{merge_id}.out",
        out.display(),
        logs.display()
    );
    if !a.slurm.wait {
        println!(
            "follow with: squeue -j {},{merge_id}; submit the same command again to train what did not finish",
            ids.join(",")
        );
        return Ok(());
    }
    let mut all = ids.clone();
    all.push(merge_id.clone());
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    loop {
        let n = slurm::active_tasks(&all)?;
        if n == 0 {
            break;
        }
        spinner.set_message(format!(
            "waiting for {n} Slurm task(s) (jobs {})",
            all.join(", ")
        ));
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    spinner.finish_and_clear();
    let merge_state = slurm::job_states(&merge_id)
        .ok()
        .and_then(|s| s.into_iter().next())
        .map_or_else(
            || "in an unknown state (Slurm no longer keeps the job)".to_string(),
            |s| format!("{} ({})", s.state, s.reason),
        );
    let failed: Vec<String> = pending
        .iter()
        .map(|&i| &entries[i])
        .filter(unfinished)
        .map(|e| {
            let job = arrays
                .iter()
                .zip(&ids)
                .find(|(s, _)| s.indices.contains(&e.index))
                .map(|(s, id)| format!("{id}_{}", e.index - s.offset))
                .unwrap_or_default();
            format!(
                "{} (index {}, log {}/{job}.out)",
                e.name,
                e.index,
                logs.display()
            )
        })
        .collect();
    // A merge job whose record Slurm has purged succeeded when every run finished and
    // the report is there.
    let merged = merge_state.starts_with("COMPLETED")
        || (merge_state.starts_with("in an unknown state") && out.join("report.md").is_file());
    if !failed.is_empty() || !merged {
        bail!(
            "the merge job {merge_id} ended {merge_state}; {} run(s) did not finish: {}; submit the same command again to train only those",
            failed.len(),
            failed.join(", ")
        );
    }
    // The merge job's log holds the report's verdicts as `rethink report` prints them.
    let log = logs.join(format!("merge-{merge_id}.out"));
    match rethink::fsio::read_text(
        &log,
        "cannot read the merge job's log",
        rethink::fsio::cap::LOG,
    ) {
        Ok(text) => {
            println!("every run finished; the merge job {merge_id} wrote the report:");
            write!(std::io::stdout().lock(), "{text}").map_err(StdoutError)?;
            Ok(())
        }
        Err(e) => {
            eprintln!("warning: {e}; writing the report here");
            report_cmd(&out)
        }
    }
}

/// `reproduce --jobs N`: N processes of this binary, each training every Nth run of the
/// suite into the same `OUT/runs`, then one report over all of them.
fn reproduce_in_jobs(a: &ReproduceArgs, threads: Option<i32>) -> Result<()> {
    let exe = std::env::current_exe().context("finding this binary to start the jobs")?;
    let mut jobs = Vec::new();
    for k in 0..a.jobs {
        let mut c = std::process::Command::new(&exe);
        if let Some(t) = threads {
            c.args(["--threads", &t.to_string()]);
        }
        c.args([
            "reproduce",
            "--scale",
            &a.scale.name(),
            "--device",
            &a.device,
        ])
        .arg("--out")
        .arg(&a.out)
        .args(["--shard", &format!("{k}/{}", a.jobs)])
        .args(a.runs.to_args());
        if let Some(d) = &a.data_dir {
            c.arg("--data-dir").arg(d);
        }
        stop_with_parent(&mut c);
        jobs.push(c.spawn().context("starting a reproduce job")?);
    }
    let mut failed = Vec::new();
    for (k, mut job) in jobs.into_iter().enumerate() {
        if !job.wait().context("waiting for a reproduce job")?.success() {
            failed.push(k.to_string());
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "reproduce: job {} of {} failed (its error is above); run the same command again to resume",
            failed.join(", "),
            a.jobs
        );
    }
    report_cmd(&a.out)
}

/// A job started by `reproduce --jobs` gets SIGTERM when the `reproduce` that started it
/// ends, whatever ends it (SIGTERM, SIGINT, SIGKILL to it alone, or an error): a job left
/// training would hold its runs' locks, and a rerun would be refused. A job killed so
/// leaves its run resumable from its last checkpoint.
fn stop_with_parent(c: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid).
    unsafe {
        c.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have ended before the prctl: then there is no one to wait for.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

fn report_cmd(dir: &std::path::Path) -> Result<()> {
    print_report(dir, &report::report(dir)?)
}

/// The report's warnings, verdicts and files, as `report` and `merge` print them.
fn print_report(dir: &std::path::Path, r: &report::ReportSummary) -> Result<()> {
    for w in &r.skipped {
        eprintln!("warning: {w}");
    }
    for j in &r.verdicts {
        println!("{}: {} (seed {})", j.status(), j.claim, j.seed);
        match &j.verdict {
            Some(v) if !v.holds => println!("{}", v.to_string().trim_end()),
            None => println!("  missing or unreadable runs: {}", j.missing.join(", ")),
            _ => {}
        }
    }
    println!(
        "wrote {} ({} runs, figures: {})",
        dir.join("report.md").display(),
        r.runs,
        r.figures.join(", ")
    );
    Ok(())
}

fn theorem_cmd(a: TheoremArgs) -> Result<()> {
    let cfg = rethink::theory::expressivity::TheoremConfig {
        n: a.n,
        d: a.d,
        seed: a.seed,
        classes: a.classes,
        dataset: a.dataset,
    };
    let r = cfg.run(a.data_dir.as_deref())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("points: {} ({} of them, d = {})", r.points, r.n, r.d);
    if r.merged + r.conflicting > 0 {
        println!(
            "identical points: {} merged (same target), {} dropped (an identical point has another target: no function fits both)",
            r.merged, r.conflicting
        );
    }
    println!(
        "weights: {} = 2·{} + {}",
        r.weights,
        (r.weights - r.d) / 2,
        r.d
    );
    println!(
        "max |c(x_i) - y_i|: {:.3e} (relative {:.3e}), from {}; {:.3e} in the construction's own order",
        r.max_abs_residual,
        r.max_rel_residual,
        r.residual_evaluation,
        r.max_abs_residual_construction_order
    );
    if let (Some(a), Some(b)) = (r.class_acc_distinct, r.class_acc_all) {
        println!(
            "labels fitted: {:.6} of the distinct points, {:.6} of all {}",
            a, b, r.n
        );
    }
    println!(
        "smallest gap between projections: {:.3e} of their range",
        r.min_relative_gap
    );
    println!(
        "time: {:.2} s to construct, {:.2} s in all",
        r.construct_s, r.wall_s
    );
    Ok(())
}

fn kernel_cmd(a: KernelArgs) -> Result<()> {
    let device = train::parse_device(&a.device)?;
    let cfg = rethink::theory::kernel::KernelConfig {
        dataset: a.dataset,
        train_size: a.train_size,
        test_size: a.test_size,
        randomization: a.randomization,
        gamma: a.gamma,
        seed: a.seed,
        solver: a.solver,
    };
    let r = cfg.run(a.data_dir.as_deref(), device)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} {} (gamma {}): {} training images ({} distinct), {} test images",
        r.dataset, r.randomization, r.gamma, r.train_size, r.distinct, r.test_size
    );
    println!(
        "train error: {:.4} (max residual {:.2e})",
        r.train_error, r.max_train_residual
    );
    println!("test error: {:.4}", r.test_error);
    println!("rkhs norm: {:.2}", r.rkhs_norm);
    match r.solver {
        rethink::theory::kernel::Solver::F32Refined => println!(
            "solver: f32-refined (the f64 kernel matrix would not fit in memory; f32 factor, {} f64 refinement step(s))",
            r.refinements
        ),
        s => println!("solver: {s}"),
    }
    println!("time: {:.1} s", r.wall_s);
    Ok(())
}

fn merge_cmd(
    out: &std::path::Path,
    shards: &[PathBuf],
    history: Option<&std::path::Path>,
) -> Result<()> {
    let m = report::nightly::merge(out, shards, history)?;
    for (shard, n) in &m.copied {
        println!("{}: {n} run(s)", shard.display());
    }
    if !m.duplicates.is_empty() {
        println!(
            "in more than one shard, kept once: {}",
            m.duplicates.join(", ")
        );
    }
    if let Some(h) = history {
        println!("appended {} line(s) to {}", m.history_lines, h.display());
    }
    for f in &m.left_out {
        eprintln!(
            "warning: {}: not part of a run record (a checkpoint, a link or another file): not merged",
            f.display()
        );
    }
    print_report(out, &m.report)?;
    if !m.dropped.is_empty() {
        for d in &m.dropped {
            eprintln!(
                "warning: {}: a link, or a run's files without config.json: not merged",
                d.display()
            );
        }
        bail!(
            "dropped {} director(ies): links, or a run's files without config.json (named above)",
            m.dropped.len()
        );
    }
    Ok(())
}

fn history_cmd(file: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let written = report::nightly::history_figures(file, out)?;
    for w in &written {
        println!("wrote {}", w.display());
    }
    if written.is_empty() {
        bail!(
            "{}: no judged claim with a measure; nothing to draw",
            file.display()
        );
    }
    Ok(())
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

fn claims_cmd(scale: Option<Scale>, quiet: bool) -> Result<()> {
    for c in rethink::claims::all().filter(|c| scale.is_none_or(|s| c.scale == s)) {
        if quiet {
            println!("{}", c.id);
        } else {
            println!("{} [{}] {} ({})", c.id, c.scale, c.statement, c.paper);
        }
    }
    Ok(())
}

/// `diff`: prints what moved; whether anything did.
fn diff_cmd(old: &std::path::Path, new: &std::path::Path) -> Result<bool> {
    let moved = report::nightly::diff(old, new)?;
    for m in &moved {
        println!("{m}");
    }
    Ok(!moved.is_empty())
}
