//! Training one experiment: [`run`] returns its record and prints nothing.
use super::Experiment;
use crate::data;
use crate::error::{Error, Result};
use crate::models;
use crate::randomize;
use crate::record::{EpochMetrics, Stop, Summary};
use crate::train;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{nn, Device};

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub experiment: Experiment,
    pub metrics: Vec<EpochMetrics>,
    pub summary: Summary,
    /// Indices of the training examples whose label was changed.
    pub corrupted: Vec<usize>,
}

impl RunRecord {
    /// A finished run of `exp`: the same config (or one that [covers](Experiment::covers)
    /// it: another test cadence that measures at least what `exp`'s would, and `exp`'s name),
    /// a summary of that run, and every epoch the summary counts in the metrics (epoch 0
    /// included). Anything less is redone by `reproduce` and not judged by `report`.
    pub fn is_finished_run_of(&self, exp: &Experiment) -> bool {
        self.experiment.covers(exp)
            && self.experiment.name == exp.name
            && self.why_unfinished().is_none()
    }

    /// Why this record is not a whole finished run of its own config, or `None` when it is:
    /// its summary names another run, or its metrics do not hold every epoch the summary
    /// counts (an empty or truncated `metrics.jsonl`, an epoch missing).
    pub fn why_unfinished(&self) -> Option<String> {
        let s = &self.summary;
        if s.name != self.experiment.name {
            return Some(format!(
                "summary.json is run {:?}'s, but config.json is run {:?}'s",
                s.name, self.experiment.name
            ));
        }
        if self.metrics.len() != s.epochs + 1 {
            return Some(format!(
                "summary.json counts {} epochs, but metrics.jsonl holds {} of the {} lines (epoch 0 included) that needs",
                s.epochs,
                self.metrics.len(),
                s.epochs + 1
            ));
        }
        if let Some((i, m)) = self.metrics.iter().enumerate().find(|(i, m)| m.epoch != *i) {
            return Some(format!(
                "metrics.jsonl line {} is epoch {}, not epoch {i}",
                i + 1,
                m.epoch
            ));
        }
        None
    }
}

/// What a run calls after every epoch; an error stops the run.
pub type OnEpoch<'a> = Box<dyn FnMut(&EpochMetrics) -> Result<()> + 'a>;

/// Where data comes from and what to report to.
pub struct RunOptions<'a> {
    pub device: Device,
    pub data_dir: Option<PathBuf>,
    /// Called after every epoch, epoch 0 (before training) included. An error stops the
    /// run at once and is the run's result (a run directory whose write failed, say).
    pub on_epoch: OnEpoch<'a>,
    /// Where to resume from, and where to save checkpoints.
    pub checkpoints: train::Checkpoints<'a>,
    /// Lets an `amp` experiment run on the CPU, where autocast does nothing: the run is fp32
    /// through the amp optimizer and its loss scaler. Only for testing that wiring on a
    /// machine without CUDA; `rethink run` never sets it and refuses `--amp` off CUDA.
    pub amp_off_cuda: bool,
}

impl RunOptions<'_> {
    pub fn new(device: Device) -> Self {
        RunOptions {
            device,
            data_dir: None,
            on_epoch: Box::new(|_| Ok(())),
            checkpoints: train::Checkpoints::default(),
            amp_off_cuda: false,
        }
    }
}

/// Trains `exp` on `device` with data found the default way.
pub fn run(exp: &Experiment, device: Device) -> Result<RunRecord> {
    run_with(exp, RunOptions::new(device))
}

/// Whether `exp` can run on `device` with data found from `data_dir`: a valid experiment,
/// a device libtorch sees (and CUDA for `amp`), and its data set's files. A command checks
/// this before it changes a run directory, so that a run it cannot start destroys nothing.
pub fn check_runnable(exp: &Experiment, device: Device, data_dir: Option<&Path>) -> Result<()> {
    check_device(exp, device, false)?;
    data::locate(exp.dataset, data_dir)?;
    Ok(())
}

fn check_device(exp: &Experiment, device: Device, amp_off_cuda: bool) -> Result<()> {
    exp.validate()?;
    if exp.train.amp && !device.is_cuda() && !amp_off_cuda {
        return Err(Error::config(
            "amp",
            "needs a cuda device: tch's autocast is libtorch's cuda autocast",
        ));
    }
    if device.is_cuda() && !tch::Cuda::is_available() {
        return Err(Error::config(
            "device",
            "cuda requested but libtorch sees no cuda device",
        ));
    }
    Ok(())
}

/// Trains `exp`; prints nothing, reports epochs through `opts.on_epoch`.
pub fn run_with(exp: &Experiment, mut opts: RunOptions<'_>) -> Result<RunRecord> {
    let start = Instant::now();
    let device = opts.device;
    check_device(exp, device, opts.amp_off_cuda)?;
    if let Device::Cuda(_) = device {
        tch::Cuda::cudnn_set_benchmark(!exp.deterministic);
        tch::Cuda::manual_seed_all(exp.train.seed);
    }
    tch::manual_seed(exp.train.seed as i64);
    let raw = data::load(exp.dataset, opts.data_dir.as_deref())?;
    let ds = data::Dataset::from_raw(&raw, exp.train_size, exp.test_size, exp.subset, device)?;
    drop(raw);
    let r = randomize::apply(
        &ds.train,
        &ds.test,
        exp.randomization,
        exp.dataset.classes(),
        exp.train.seed,
    )?;
    let prepared = train::Prepared::new(&r, &exp.preprocess)?;
    let (channels, side) = prepared.input_shape();
    let vs = nn::VarStore::new(device);
    let model = models::build(&vs.root(), exp.model, &exp.model_config(channels, side))?;
    models::initialize(&vs, exp.init)?;
    if exp.train.channels_last {
        models::use_channels_last(&vs);
    }
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    let trained = train::train_from(
        model.as_ref(),
        &vs,
        &prepared,
        &exp.train,
        &mut *opts.on_epoch,
        opts.checkpoints,
    )?;
    let summary = summarize(exp, &trained.metrics, trained.stop, |s| Summary {
        params,
        train_size: ds.train.len(),
        test_size: ds.test.len(),
        corrupted: r.corrupted_count(),
        implied_chance: r.implied_chance,
        device: train::device_name(device),
        wall_s: start.elapsed().as_secs_f64(),
        environment: Some(crate::record::Environment::capture(device)),
        ..s
    });
    Ok(RunRecord {
        experiment: exp.clone(),
        metrics: trained.metrics,
        corrupted: r
            .corrupted
            .iter()
            .enumerate()
            .filter(|(_, &c)| c)
            .map(|(i, _)| i)
            .collect(),
        summary,
    })
}

/// Summarizes metrics; `fill` sets what the metrics do not know.
pub fn summarize(
    exp: &Experiment,
    metrics: &[EpochMetrics],
    status: Stop,
    fill: impl FnOnce(Summary) -> Summary,
) -> Summary {
    let last = metrics.last().expect("at least epoch 0");
    let tested = |m: &&EpochMetrics| m.test_acc.is_some();
    let last_tested = metrics.iter().rev().find(tested).unwrap_or(last);
    let test_acc = |m: &EpochMetrics| m.test_acc.unwrap_or(f64::NAN);
    let best = metrics
        .iter()
        .skip(1)
        .filter(tested)
        .fold(None::<&EpochMetrics>, |b, m| match b {
            Some(b) if test_acc(b) >= test_acc(m) => Some(b),
            _ => Some(m),
        })
        .unwrap_or(last_tested);
    // A fixed budget (no target) records when the training set was first fitted.
    let fit_at = exp.train.target_train_acc.unwrap_or(1.0);
    let fit = metrics.iter().find(|m| m.train_acc >= fit_at);
    fill(Summary {
        name: exp.name.clone(),
        status,
        epochs: last.epoch,
        steps: last.step,
        final_train_acc: last.train_acc,
        final_test_acc: test_acc(last_tested),
        best_test_acc: test_acc(best),
        best_test_epoch: best.epoch,
        epochs_to_fit: fit.map(|m| m.epoch),
        steps_to_fit: fit.map(|m| m.step),
        target_train_acc: exp.train.target_train_acc,
        params: 0,
        train_size: 0,
        test_size: 0,
        corrupted: 0,
        device: String::new(),
        threads: tch::get_num_threads(),
        wall_s: 0.0,
        environment: None,
        implied_chance: None,
    })
}

#[cfg(test)]
mod tests {
    use crate::experiment::testutil::fake;

    #[test]
    fn a_finished_run_has_its_config_and_every_epoch_its_summary_counts() {
        let run = fake("fashion-cpu-true-labels", 20, Some(40), 0.8);
        let exp = run.experiment.clone();
        assert!(run.is_finished_run_of(&exp));
        let mut other = exp.clone();
        other.train.seed = 1;
        assert!(!run.is_finished_run_of(&other));
        let mut short = run.clone();
        short.metrics.pop();
        assert!(!short.is_finished_run_of(&exp), "a truncated metrics.jsonl");
        let mut gap = run.clone();
        gap.metrics.remove(3);
        gap.metrics.push(run.metrics.last().unwrap().clone());
        assert!(!gap.is_finished_run_of(&exp), "an epoch missing");
    }
}
