//! The training engine: SGD with momentum over a data set that stays on its device, with
//! every example visited each epoch (the last partial batch is kept: an example never
//! trained on cannot be memorized) and metrics measured in eval mode: on the training set
//! after every epoch (the stopping rule and the curves read it), on the test set at the
//! cadence [`TrainConfig::test_every`] sets and always after the last epoch. Evaluation
//! changes nothing that training does (no gradient, no random draw, batch-norm statistics
//! untouched), so a run stops at the same epoch with the same numbers at any cadence.
//! Plain MLPs take the fused step of `fused`; every other model goes through autograd.
pub mod amp;
mod checkpoint;
pub mod eval;
pub mod fused;
mod optimizer;
mod prepare;
pub mod schedule;
pub mod sgd;

pub use crate::record::{EpochMetrics, Stop};
pub use checkpoint::{Checkpoints, SaveState, TrainState};
pub use eval::evaluate;
use eval::{evaluate_in, masked_acc};
pub use optimizer::Optimizer;
use prepare::in_layout;
pub use prepare::{Prepared, Preprocess};
pub use schedule::Schedule;

use crate::data::transform::{self, CropFlip, Normalization};
use crate::error::{Error, Result};
use crate::models::Model;
use crate::randomize::{self, Stream};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Reduction, Tensor};

/// What the loop needs besides the model and data.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub batch_size: usize,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub schedule: Schedule,
    pub max_epochs: usize,
    /// Stop once train accuracy (eval mode, whole training set) reaches this.
    pub target_train_acc: Option<f64>,
    pub augment: bool,
    pub seed: u64,
    /// Give every batch channels-last strides (use with `models::use_channels_last`).
    pub channels_last: bool,
    /// Mixed precision (`Optimizer::amp`); CUDA only.
    pub amp: bool,
    /// Evaluate the test set after every `test_every` epochs, and always after the last; 0
    /// evaluates it after the last epoch only. The untrained model (epoch 0) is tested only
    /// at 1, where the curve is wanted whole: a sparser cadence is chosen for cost, and the
    /// untrained model's test accuracy is chance. A test-set evaluation costs a forward pass
    /// over every test image, often more than the epoch's training: evaluate it only as
    /// often as a curve is wanted.
    pub test_every: usize,
}

impl TrainConfig {
    /// Whether the test set is evaluated after epoch `epoch` when that epoch is not the last:
    /// every epoch at `test_every` 1, else at its positive multiples.
    pub fn tests_at(&self, epoch: usize) -> bool {
        match self.test_every {
            0 => false,
            1 => true,
            every => epoch > 0 && epoch.is_multiple_of(every),
        }
    }
}

/// Set once this process is asked to stop (SIGTERM from a scheduler ending or preempting it).
static STOP: AtomicBool = AtomicBool::new(false);

/// Asks every training loop of this process to stop before its next SGD step, saving a
/// checkpoint of its last epoch boundary, and to return [`Error::Stopped`]. One atomic
/// store: a signal handler may call it.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The libtorch seed for epoch `epoch`: dropout's masks are drawn from libtorch's generator,
/// whose state tch cannot read, so it is reseeded at the start of every epoch from the run's
/// seed. A resumed run then draws the same masks as an uninterrupted one.
fn epoch_seed(seed: u64, epoch: usize) -> i64 {
    use rand::RngCore;
    let mut r = randomize::rng(seed, Stream::Dropout);
    r.set_word_pos(2 * epoch as u128);
    (r.next_u64() >> 1) as i64
}

/// The outcome of a training run.
#[derive(Debug, Clone)]
pub struct Trained {
    pub metrics: Vec<EpochMetrics>,
    pub stop: Stop,
}

/// Trains `model` (whose parameters live in `vs`) on `data`. `on_epoch` sees every epoch's
/// metrics as they are measured, epoch 0 (the untrained model) included; its first error
/// stops training and is returned.
pub fn train(
    model: &dyn Model,
    vs: &nn::VarStore,
    data: &Prepared,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics) -> Result<()>,
) -> Result<Trained> {
    train_from(model, vs, data, cfg, on_epoch, Checkpoints::default())
}

/// [`train`], resuming from `checkpoints.resume` when given (its epochs are not measured or
/// reported again), and handing the state to `checkpoints.save` after each epoch.
pub fn train_from(
    model: &dyn Model,
    vs: &nn::VarStore,
    data: &Prepared,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics) -> Result<()>,
    mut checkpoints: Checkpoints<'_>,
) -> Result<Trained> {
    if cfg.batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    let device = vs.device();
    let start = Instant::now();
    let mut opt = if cfg.amp {
        Optimizer::amp(vs, cfg.lr, cfg.momentum, cfg.weight_decay)?
    } else {
        Optimizer::sgd(model, vs, cfg.lr, cfg.momentum, cfg.weight_decay)?
    };
    let n = data.train_len();
    let mut batch_rng = randomize::rng(cfg.seed, Stream::Batches);
    let mut aug_rng = randomize::rng(cfg.seed, Stream::Augmentation);
    let mut metrics = Vec::new();
    let mut step = 0usize;

    // A resumed run's clock continues from the last epoch it had measured.
    let wall_offset = std::cell::Cell::new(0.0);
    // One evaluation chunk size for the run: found once, then kept (see `eval`).
    let chunk = eval::EvalChunk::start(device, n.max(data.test_y.size()[0]));
    // The training set, measured after every epoch; `measure_test` adds the test set.
    let measure = |epoch: usize, step: usize, lr: f64| -> Result<EpochMetrics> {
        let (cl, amp) = (cfg.channels_last, cfg.amp);
        let (train_loss, train_acc, correct) = evaluate_in(
            model,
            &data.train_x,
            &data.train_y,
            &chunk,
            cl,
            amp,
            "training set",
        )?;
        let (clean, corrupted) = match &data.corrupted {
            Some(mask) => (
                Some(masked_acc(&correct, &mask.logical_not())),
                Some(masked_acc(&correct, mask)),
            ),
            None => (None, None),
        };
        Ok(EpochMetrics {
            epoch,
            step,
            lr,
            train_loss,
            train_acc,
            test_loss: None,
            test_acc: None,
            train_acc_clean: clean,
            train_acc_corrupted: corrupted,
            wall_s: 0.0,
        })
    };
    let measure_test = |m: &mut EpochMetrics| -> Result<()> {
        let (loss, acc, _) = evaluate_in(
            model,
            &data.test_x,
            &data.test_y,
            &chunk,
            cfg.channels_last,
            cfg.amp,
            "test set",
        )?;
        m.test_loss = Some(loss);
        m.test_acc = Some(acc);
        Ok(())
    };
    // Why training stops after the epoch `m` measured, from its training-set metrics (and
    // its test loss where the test set was evaluated). `max_epochs` is reached at `m` when
    // it is the last epoch allowed (`>=`: a resumed state may be past a lowered cap).
    let finished = |m: &EpochMetrics| -> Option<Stop> {
        if !m.train_loss.is_finite() || m.test_loss.is_some_and(|l| !l.is_finite()) {
            Some(Stop::NonFiniteLoss)
        } else if cfg.target_train_acc.is_some_and(|t| m.train_acc >= t) {
            Some(Stop::TargetReached)
        } else if m.epoch >= cfg.max_epochs {
            Some(Stop::MaxEpochs)
        } else {
            None
        }
    };
    // Measures the epoch just trained: the training set, then the test set when it is due
    // or the epoch is the last; a test loss that is not finite stops training too.
    let measure_epoch =
        |epoch: usize, step: usize, lr: f64| -> Result<(EpochMetrics, Option<Stop>)> {
            let mut m = measure(epoch, step, lr)?;
            let mut stop = finished(&m);
            if stop.is_some() || cfg.tests_at(epoch) {
                measure_test(&mut m)?;
                stop = finished(&m);
            }
            m.wall_s = wall_offset.get() + start.elapsed().as_secs_f64();
            Ok((m, stop))
        };

    let mut epoch = 0;
    let mut stop;
    match checkpoints.resume.take() {
        Some(state) => {
            let bad = |what: String| Error::Checkpoint(what);
            let vars = vs.variables();
            if state.variables.len() != vars.len() {
                return Err(bad(format!(
                    "{} model variables saved, the model has {}",
                    state.variables.len(),
                    vars.len()
                )));
            }
            tch::no_grad(|| -> Result<()> {
                for (name, saved) in &state.variables {
                    let mut v = vars
                        .get(name)
                        .ok_or_else(|| bad(format!("the model has no variable {name}")))?
                        .shallow_clone();
                    if v.size() != saved.size() || v.kind() != saved.kind() {
                        return Err(bad(format!(
                            "variable {name}: saved {:?} {:?}, the model's is {:?} {:?}",
                            saved.size(),
                            saved.kind(),
                            v.size(),
                            v.kind()
                        )));
                    }
                    v.copy_(saved);
                }
                Ok(())
            })?;
            opt.load_buffers(&state.momentum).map_err(bad)?;
            if let (Some(s), Some(saved)) = (opt.scaler(), state.scaler) {
                s.set_state(saved);
            }
            batch_rng.set_word_pos(state.batch_stream);
            aug_rng.set_word_pos(state.augmentation_stream);
            epoch = state.epoch;
            step = state.step;
            metrics = state.metrics;
            let last = metrics
                .last()
                .ok_or_else(|| bad("the checkpoint has no metrics".into()))?;
            wall_offset.set(last.wall_s);
            // A checkpoint is saved before an epoch that is not the last: its last epoch
            // stops training only when `max_epochs` was lowered since, and then the summary
            // reads the last test-set evaluation before it.
            stop = finished(last);
        }
        None => {
            let (m0, stop0) = measure_epoch(0, 0, cfg.schedule.lr(cfg.lr, 0))?;
            on_epoch(&m0)?;
            stop = stop0;
            metrics.push(m0);
        }
    }
    while stop.is_none() {
        // A stop asked for before the first epoch is trained saves epoch 0 as well, so that
        // the run resumes without measuring the untrained model again.
        if let Some(save) = checkpoints.save.as_mut() {
            if epoch > 0 || stop_requested() {
                save(&TrainState {
                    epoch,
                    step,
                    metrics: metrics.clone(),
                    batch_stream: batch_rng.get_word_pos(),
                    augmentation_stream: aug_rng.get_word_pos(),
                    variables: vs
                        .variables()
                        .into_iter()
                        .collect::<std::collections::BTreeMap<_, _>>()
                        .into_iter()
                        .collect(),
                    momentum: opt.buffers(),
                    scaler: opt.scaler().map(|s| s.state()),
                })?;
            }
        }
        tch::manual_seed(epoch_seed(cfg.seed, epoch));
        let lr = cfg.schedule.lr(cfg.lr, epoch);
        opt.set_lr(lr);
        let perm = Tensor::from_slice(&randomize::permutation(n as usize, &mut batch_rng))
            .to_device(device);
        // Augmentation's draws for the whole epoch, on the device before its first batch.
        let draws = cfg
            .augment
            .then(|| data.epoch_draws(cfg.batch_size as i64, &mut aug_rng));
        let mut at = 0;
        while at < n {
            // The epoch's steps so far are dropped: the run resumes from the checkpoint of
            // the epoch boundary just saved (or an earlier one), and trains them again with
            // the same batches and dropout masks.
            if stop_requested() {
                return Err(Error::Stopped {
                    epoch: epoch + 1,
                    step,
                });
            }
            let len = (cfg.batch_size as i64).min(n - at); // the last batch may be smaller
            let idx = perm.narrow(0, at, len);
            let (x, y) = data.batch(&idx, draws.as_ref().map(|d| d.narrow(at, len)).as_ref());
            let x = in_layout(x, cfg.channels_last);
            opt.step(model, &x, &y);
            step += 1;
            at += len;
        }
        epoch += 1;
        let (m, stop_now) = measure_epoch(epoch, step, lr)?;
        on_epoch(&m)?;
        stop = stop_now;
        metrics.push(m);
    }
    Ok(Trained {
        metrics,
        stop: stop.expect("loop ends with a reason"),
    })
}

/// Picks the device: `auto` is CUDA when available, else CPU.
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => match s.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
            Some(i) => Ok(Device::Cuda(i)),
            None => Err(Error::config(
                "device",
                format!("{s:?} is not auto, cpu, cuda or cuda:N"),
            )),
        },
    }
}

/// A device's name as recorded in summaries.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
