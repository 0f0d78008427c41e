//! The subcommands' arguments, as clap derives.
use super::*;

#[derive(Args)]
pub(crate) struct ReproduceArgs {
    /// cpu: Fashion-MNIST subsets (the MLP, AlexNet, and the AlexNet/ResNet18 grid); grid:
    /// the AlexNet/ResNet18 grid alone; gpu: full data sets, every model; smoke: the
    /// nightly's Fashion-MNIST claims in miniature, a few minutes on CPU.
    #[arg(long, default_value = "cpu")]
    pub(crate) scale: Scale,
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
    /// auto, cpu, cuda or cuda:N (default: $RETHINK_DEVICE, else auto)
    #[arg(long, env = "RETHINK_DEVICE", default_value = "auto")]
    pub(crate) device: String,
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Print the suite's run names and exit.
    #[arg(long)]
    pub(crate) list: bool,
    #[command(flatten)]
    pub(crate) runs: SuiteArgs,
    /// Train this many runs at once, each job in its own process (with `--threads 1`, each
    /// run's numbers are the ones it gives alone); the report is written once all finish.
    /// At most 256.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub(crate) jobs: u64,
    /// Internal, for --jobs: train only the suite's runs K, K+N, K+2N... and write no report.
    #[arg(long, hide = true, value_parser = parse_shard)]
    pub(crate) shard: Option<(usize, usize)>,
    /// Where the runs train: local (this machine, --jobs at once) or slurm (a job array over
    /// the suite's plan, OUT/plan.jsonl, and a merge job that writes the report; OUT must be
    /// on a filesystem every node sees).
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub(crate) executor: Executor,
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(flatten)]
    pub(crate) slurm: SlurmArgs,
}

/// How often a run's progress is logged where no progress bar is drawn.
#[derive(Args)]
pub(crate) struct LogArgs {
    /// Without a terminal (a batch job's log, the jobs of --jobs), print the epoch and
    /// accuracies of the run in training at most once per this many seconds (0: every
    /// epoch); with a terminal the progress bar shows them.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) log_every: u64,
}

/// Which runs of a scale's suite: its seeds, and a subset by name.
#[derive(Args)]
pub(crate) struct SuiteArgs {
    /// Run every experiment of the suite with this seed instead of its preset's (0).
    #[arg(long, conflicts_with = "seeds")]
    pub(crate) seed: Option<u64>,
    /// Run every experiment of the suite over seeds 0..N-1 (seed 0 in runs/NAME, seed K in
    /// runs/NAME-seedK); the report gives medians and ranges over seeds and counts each
    /// claim's verdicts. Finished runs are reused, so --seeds 3 after a plain reproduce
    /// trains only seeds 1 and 2. At most 1,000.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) seeds: u64,
    /// Only the suite's run with this name (repeatable; --list shows the names). The
    /// claims whose runs are left out are judged incomplete.
    #[arg(long, value_name = "NAME")]
    pub(crate) only: Vec<String>,
}

impl SuiteArgs {
    /// The suite of `scale` with these seeds, and only the runs named.
    pub(crate) fn suite(&self, scale: Scale) -> Result<Vec<Experiment>> {
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
    pub(crate) fn to_args(&self) -> Vec<String> {
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
pub(crate) enum Executor {
    Local,
    Slurm,
}

/// The flags of `reproduce --executor slurm`.
#[derive(Args)]
#[command(next_help_heading = "Slurm executor (--executor slurm)")]
pub(crate) struct SlurmArgs {
    /// The partition to submit to (default: the cluster's default partition).
    #[arg(long)]
    pub(crate) partition: Option<String>,
    /// GPUs per run, as --gres=gpu:N (default: 1 at --scale gpu, else 0).
    #[arg(long)]
    pub(crate) gpus_per_run: Option<u32>,
    /// CPUs per run; also each run's libtorch thread count unless --threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) cpus_per_run: u32,
    /// Memory per run, as sbatch's --mem (16G).
    #[arg(long)]
    pub(crate) mem: Option<String>,
    /// Time limit per run, as sbatch's --time (2:00:00). A run that reaches it is
    /// sent SIGTERM two minutes before, saves a checkpoint and is requeued.
    #[arg(long)]
    pub(crate) time: Option<String>,
    /// At most this many runs at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_parallel: Option<u32>,
    /// An argument for every sbatch, as it is (repeatable): --sbatch-arg=--account=lab
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub(crate) sbatch_args: Vec<String>,
    /// Write the plan and the batch scripts and print the sbatch commands; submit
    /// nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Wait for every task and the merge job, then print the report's verdicts;
    /// exit 1 when a run failed (the merge job is then cancelled).
    #[arg(long)]
    pub(crate) wait: bool,
}

impl SlurmArgs {
    /// The slurm flags given, as typed: refused with --executor local.
    pub(crate) fn given(&self) -> Vec<&'static str> {
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

    pub(crate) fn options(&self, scale: Scale) -> rethink::suite::slurm::SlurmOptions {
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
pub(crate) struct PlanArgs {
    /// The scale whose suite is planned (see reproduce --scale).
    #[arg(long, default_value = "cpu")]
    pub(crate) scale: Scale,
    #[command(flatten)]
    pub(crate) runs: SuiteArgs,
    /// The plan's folder: DIR/plan.jsonl, and the runs in DIR/runs/NAME.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// `K/N` with K < N.
pub(crate) fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
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
pub(crate) struct TheoremArgs {
    /// Number of points.
    #[arg(long)]
    pub(crate) n: usize,
    /// Dimension of random Gaussian points (ignored with --dataset: images have 784).
    #[arg(long, default_value_t = 10)]
    pub(crate) d: usize,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Random labels in 0..C instead of real-valued targets.
    #[arg(long)]
    pub(crate) classes: Option<u32>,
    /// Use the first N training images (raw pixel values) with random labels (10 classes
    /// unless --classes) instead of Gaussian points.
    #[arg(long)]
    pub(crate) dataset: Option<DatasetKind>,
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct KernelArgs {
    #[arg(long, default_value = "fashion-mnist")]
    pub(crate) dataset: DatasetKind,
    #[arg(long, default_value_t = 2000)]
    pub(crate) train_size: usize,
    #[arg(long, default_value_t = 2000)]
    pub(crate) test_size: usize,
    /// true-labels, random-labels or corrupt:P
    #[arg(long, default_value = "true-labels")]
    pub(crate) randomization: Randomization,
    /// Bandwidth of k(x, x') = exp(-gamma |x - x'|^2) on pixels in [0, 1].
    #[arg(long, default_value_t = rethink::theory::kernel::DEFAULT_GAMMA)]
    pub(crate) gamma: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// auto: f64 where its 16·n² bytes fit in the available memory, else the kernel matrix
    /// in f32 (4·n² bytes) factored in place, refined in f64; or f64, f32-refined
    #[arg(long, default_value = "auto")]
    pub(crate) solver: rethink::theory::kernel::Solver,
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand)]
pub(crate) enum DataAction {
    /// Download from the upstream URLs, verify the MD5 sums, then move into place.
    Fetch(DataArgs),
    /// Check every file against the upstream MD5 sums.
    Verify(DataArgs),
    /// Where the data set is, its image counts, shape and per-channel statistics.
    Info(DataArgs),
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// The data set.
    pub(crate) dataset: DatasetKind,
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// A named preset (see --list-presets); the default is fashion-cpu-true-labels.
    #[arg(long, conflicts_with = "config")]
    pub(crate) preset: Option<String>,
    /// A config.json, for example a run directory's, to rerun.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Print the preset names and exit.
    #[arg(long)]
    pub(crate) list_presets: bool,
    #[command(flatten)]
    pub(crate) overrides: Overrides,
    /// auto, cpu, cuda or cuda:N (default: $RETHINK_DEVICE, else auto)
    #[arg(long, env = "RETHINK_DEVICE", default_value = "auto")]
    pub(crate) device: String,
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The run's name (in config.json and summary.json). Default: the preset's or config's
    /// name, or, when flags change what runs, the preset it then equals or a name made from
    /// its data set, model, randomization and a hash of its config.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The run directory to write.
    #[arg(long, required_unless_present_any = ["list_presets", "resume", "plan"])]
    pub(crate) out: Option<PathBuf>,
    /// Train run I (--index) of this plan (`rethink plan`) into the plan's folder,
    /// DIR/runs/NAME: a finished run exits 0 at once, an interrupted one resumes from its
    /// checkpoint. On SIGTERM a run stops at its next step with its checkpoint saved and
    /// exits with status 75, "requeue me".
    #[arg(long, requires = "index", conflicts_with_all = ["out", "preset", "config", "force", "name", "resume", "list_presets", "keep_checkpoint"])]
    pub(crate) plan: Option<PathBuf>,
    /// The plan's run to train (its line, from 0).
    #[arg(long, requires = "plan")]
    pub(crate) index: Option<usize>,
    /// Continue the interrupted run in this run directory from its last checkpoint, as its
    /// config.json says (flags that change the experiment are refused).
    #[arg(long, conflicts_with_all = ["out", "preset", "config", "force", "name"])]
    pub(crate) resume: Option<PathBuf>,
    /// Keep the checkpoint once the run has finished (it is removed by default).
    #[arg(long)]
    pub(crate) keep_checkpoint: bool,
    /// Overwrite a non-empty run directory.
    #[arg(long)]
    pub(crate) force: bool,
    /// No progress bar, and no progress lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}
