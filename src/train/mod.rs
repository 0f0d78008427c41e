//! The training engine: SGD with momentum over a data set that stays on its device, with
//! every example visited each epoch (the last partial batch is kept: an example never
//! trained on cannot be memorized) and metrics measured in eval mode: on the training set
//! after every epoch (the stopping rule and the curves read it), on the test set at the
//! cadence [`TrainConfig::test_every`] sets and always after the last epoch. Evaluation
//! changes nothing that training does (no gradient, no random draw, batch-norm statistics
//! untouched), so a run stops at the same epoch with the same numbers at any cadence.
//! Plain MLPs take the fused step of `fused`; every other model goes through autograd.
pub mod amp;
pub mod eval;
pub mod fused;
pub mod schedule;
pub mod sgd;

pub use crate::record::{EpochMetrics, Stop};
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
    /// Evaluate the test set after every `test_every` epochs (epoch 0, the untrained model,
    /// included), and always after the last; 0 evaluates it after the last epoch only. A
    /// test-set evaluation costs a forward pass over every test image, often more than the
    /// epoch's training: evaluate it only as often as a curve is wanted.
    pub test_every: usize,
}

impl TrainConfig {
    /// Whether the test set is evaluated after epoch `epoch` when that epoch is not the last.
    pub fn tests_at(&self, epoch: usize) -> bool {
        self.test_every > 0 && epoch.is_multiple_of(self.test_every)
    }
}

/// Inputs ready for the model: preprocessed once for evaluation, and per batch when augmenting.
#[derive(Debug)]
pub struct Prepared {
    /// Training images as stored (before crop and normalization), for augmentation.
    train_raw: Tensor,
    /// Evaluation-mode training inputs `[N, C, S, S]`.
    pub train_x: Tensor,
    pub train_y: Tensor,
    pub test_x: Tensor,
    pub test_y: Tensor,
    /// 1 where the training label was changed by the randomization, on the device.
    corrupted: Option<Tensor>,
    crop: i64,
    pad: i64,
    norm: Normalization,
    stats: (Vec<f64>, Vec<f64>),
}

/// How inputs are preprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    pub normalization: Normalization,
    /// The side of the model's input: a center crop for evaluation and a random crop when
    /// augmenting. `None` keeps the stored size.
    #[serde(default)]
    pub crop: Option<i64>,
    /// Zero padding added before the random crop when augmenting.
    #[serde(default)]
    pub augment_pad: i64,
}

impl Prepared {
    /// Preprocesses randomized splits. `corrupted[i]` marks training labels that changed.
    pub fn new(r: &randomize::Randomized, pre: &Preprocess) -> Result<Self> {
        let (_, _, h, w) = r.train.images.size4()?;
        let crop = pre.crop.unwrap_or(h.min(w));
        if crop < 1 || crop > h.min(w) {
            return Err(Error::config(
                "crop",
                format!("{crop} does not fit {h}x{w} images"),
            ));
        }
        let stats = crate::data::channel_stats(&r.train.images);
        let eval = |x: &Tensor| {
            transform::normalize(&transform::center_crop(x, crop), pre.normalization, &stats)
        };
        let device = r.train.images.device();
        let corrupted = r.corrupted.iter().any(|&c| c).then(|| {
            let v: Vec<u8> = r.corrupted.iter().map(|&c| c as u8).collect();
            Tensor::from_slice(&v).to_kind(Kind::Bool).to_device(device)
        });
        Ok(Prepared {
            train_raw: r.train.images.shallow_clone(),
            train_x: eval(&r.train.images),
            train_y: r.train.labels.shallow_clone(),
            test_x: eval(&r.test.images),
            test_y: r.test.labels.shallow_clone(),
            corrupted,
            crop,
            pad: pre.augment_pad,
            norm: pre.normalization,
            stats,
        })
    }

    /// The model's input shape `(channels, side)`.
    pub fn input_shape(&self) -> (i64, i64) {
        (self.train_x.size()[1], self.crop)
    }

    pub fn train_len(&self) -> i64 {
        self.train_y.size()[0]
    }

    /// A training batch for `idx`: augmented (random crop + flip, then normalization) with
    /// the batch's `draws` when given, else taken from the preprocessed set.
    pub fn batch(&self, idx: &Tensor, draws: Option<&CropFlip>) -> (Tensor, Tensor) {
        let y = self.train_y.index_select(0, idx);
        let x = match draws {
            Some(d) => {
                let raw = self.train_raw.index_select(0, idx);
                let x = transform::crop_flip(&raw, self.crop, self.pad, d);
                transform::normalize(&x, self.norm, &self.stats)
            }
            None => self.train_x.index_select(0, idx),
        };
        (x, y)
    }

    /// An epoch's augmentation draws for batches of `batch_size` over all training images,
    /// made from `rng` batch by batch in the order training uses them (so the stream, and
    /// every seeded result, is what drawing per batch gave) and copied to the device once.
    pub fn epoch_draws(&self, batch_size: i64, rng: &mut impl Rng) -> CropFlip {
        let (n, _, h, w) = self.train_raw.size4().expect("images are [N, C, H, W]");
        let (h, w) = (h + 2 * self.pad, w + 2 * self.pad);
        let mut parts = Vec::new();
        let mut at = 0;
        while at < n {
            let len = batch_size.min(n - at);
            parts.push(CropFlip::draw(len, h, w, self.crop, rng));
            at += len;
        }
        CropFlip::cat(&parts).to_device(self.train_raw.device())
    }
}

/// Loss and accuracy of `model` in eval mode over `(x, y)`, without gradients, in chunks as
/// large as memory allows from the device's starting size ([`eval::EvalChunk::start`]); also
/// the per-example correctness.
pub fn evaluate(model: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Result<(f64, f64, Tensor)> {
    let chunk = eval::EvalChunk::start(x.device(), y.size()[0]);
    evaluate_in(model, x, y, &chunk, false, false, "evaluation")
}

/// `evaluate` in `chunk`'s size (which shrinks where memory is short), with every chunk in
/// channels-last layout when `channels_last`, and the forward pass under autocast when
/// `amp` (as training runs it; the loss is summed in fp32). `what` names the set in errors.
fn evaluate_in(
    model: &dyn ModuleT,
    x: &Tensor,
    y: &Tensor,
    chunk: &eval::EvalChunk,
    channels_last: bool,
    amp: bool,
    what: &str,
) -> Result<(f64, f64, Tensor)> {
    let _guard = tch::no_grad_guard();
    let n = y.size()[0];
    let mut loss = Tensor::zeros([], (Kind::Double, x.device()));
    let mut correct = Vec::new();
    chunk.for_each(n, what, |start, len| {
        let xb = in_layout(x.narrow(0, start, len), channels_last);
        let yb = y.narrow(0, start, len);
        // Autocast is switched off again before a failed chunk unwinds past it.
        let logits = tch::autocast(amp, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.forward_t(&xb, false)))
        })
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        .to_kind(Kind::Float);
        let chunk_loss = logits
            .cross_entropy_loss::<Tensor>(&yb, None, Reduction::Sum, -100, 0.0)
            .to_kind(Kind::Double);
        let chunk_correct = logits.argmax(-1, false).eq_tensor(&yb);
        // Only a chunk that finished counts: a refused one is tried again, smaller.
        loss += chunk_loss;
        correct.push(chunk_correct);
    })?;
    let correct = Tensor::cat(&correct, 0);
    let acc = correct
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]);
    Ok((loss.double_value(&[]) / n as f64, acc, correct))
}

fn masked_acc(correct: &Tensor, mask: &Tensor) -> f64 {
    let sel = correct.masked_select(mask);
    if sel.numel() == 0 {
        return f64::NAN;
    }
    sel.to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// The engine's SGD: momentum without dampening and L2 weight decay on every parameter, as
/// PyTorch's `torch.optim.SGD`, on the mean cross-entropy of each batch. Every variant's
/// state can be checkpointed ([`Optimizer::buffers`]) and restored exactly.
#[derive(Debug)]
pub enum Optimizer {
    /// Forward in train mode, libtorch's fused cross-entropy (log-softmax + NLL), autograd,
    /// then the engine's SGD over the variables ([`sgd::Sgd`]).
    Autograd(sgd::Sgd),
    /// The same SGD for plain MLPs, written out layer by layer without autograd
    /// (`fused::MlpSgd`): fewer passes over the weights.
    FusedMlp(fused::MlpSgd),
    /// Autograd with the forward under CUDA autocast (fp16) and dynamic loss scaling
    /// (`amp::LossScaler`), for any model.
    Amp {
        opt: sgd::Sgd,
        scaler: amp::LossScaler,
    },
}

impl Optimizer {
    /// The fused step when `model` is a plain MLP (no dropout), autograd for everything else.
    pub fn sgd(
        model: &dyn Model,
        vs: &nn::VarStore,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Result<Self> {
        match model.as_plain_mlp() {
            Some(mlp) => Ok(Optimizer::FusedMlp(fused::MlpSgd::new(
                mlp.layers(),
                lr,
                momentum,
                weight_decay,
            ))),
            None => Self::autograd(vs, lr, momentum, weight_decay),
        }
    }

    /// Autograd and the engine's SGD over every trainable variable of `vs`, for any model, in
    /// the default layout ([`sgd::Layout::DEFAULT`]).
    pub fn autograd(vs: &nn::VarStore, lr: f64, momentum: f64, weight_decay: f64) -> Result<Self> {
        Self::autograd_with(vs, lr, momentum, weight_decay, sgd::Layout::DEFAULT)
    }

    /// [`Optimizer::autograd`] in a chosen layout (the per-tensor one is kept for comparison).
    pub fn autograd_with(
        vs: &nn::VarStore,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
        layout: sgd::Layout,
    ) -> Result<Self> {
        Ok(Optimizer::Autograd(sgd::Sgd::with_layout(
            vs.trainable_variables(),
            lr,
            momentum,
            weight_decay,
            layout,
        )))
    }

    /// The SGD's layout (`flat` or `per-tensor`), or `fused` for the fused MLP step.
    pub fn layout(&self) -> String {
        match self {
            Optimizer::Autograd(o) | Optimizer::Amp { opt: o, .. } => o.layout().name(),
            Optimizer::FusedMlp(_) => "fused".into(),
        }
    }

    /// Mixed precision: see `Optimizer::Amp`. Autocast only acts on CUDA tensors.
    pub fn amp(vs: &nn::VarStore, lr: f64, momentum: f64, weight_decay: f64) -> Result<Self> {
        Ok(Optimizer::Amp {
            opt: sgd::Sgd::flat(vs.trainable_variables(), lr, momentum, weight_decay),
            scaler: amp::LossScaler::default(),
        })
    }

    /// `autograd`, `fused-mlp` or `amp`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Autograd(_) => "autograd",
            Optimizer::FusedMlp(_) => "fused-mlp",
            Optimizer::Amp { .. } => "amp",
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Autograd(o) | Optimizer::Amp { opt: o, .. } => o.set_lr(lr),
            Optimizer::FusedMlp(o) => o.set_lr(lr),
        }
    }

    /// The momentum buffers, in a fixed order (for checkpoints).
    pub fn buffers(&self) -> Vec<Tensor> {
        match self {
            Optimizer::Autograd(o) | Optimizer::Amp { opt: o, .. } => {
                o.buffers().iter().map(Tensor::shallow_clone).collect()
            }
            Optimizer::FusedMlp(o) => o.buffers(),
        }
    }

    /// Restores [`Optimizer::buffers`].
    pub fn load_buffers(&mut self, saved: &[Tensor]) -> std::result::Result<(), String> {
        match self {
            Optimizer::Autograd(o) | Optimizer::Amp { opt: o, .. } => o.load_buffers(saved),
            Optimizer::FusedMlp(o) => o.load_buffers(saved),
        }
    }

    /// The loss scaler's state, with mixed precision.
    pub fn scaler(&mut self) -> Option<&mut amp::LossScaler> {
        match self {
            Optimizer::Amp { scaler, .. } => Some(scaler),
            _ => None,
        }
    }

    /// One SGD step of `model` on the batch `(x, y)`. Nothing is copied to the host, so no
    /// step waits on the device.
    pub fn step(&mut self, model: &dyn ModuleT, x: &Tensor, y: &Tensor) {
        match self {
            Optimizer::Autograd(opt) => {
                opt.backward_step(&mean_cross_entropy(&model.forward_t(x, true), y));
            }
            Optimizer::FusedMlp(opt) => opt.step(x, y),
            Optimizer::Amp { opt, scaler } => {
                let logits = tch::autocast(true, || model.forward_t(x, true));
                let loss = mean_cross_entropy(&logits.to_kind(Kind::Float), y);
                scaler.backward_step(&loss, opt);
            }
        }
    }
}

/// The training loss: libtorch's fused cross-entropy (log-softmax + NLL), batch mean.
fn mean_cross_entropy(logits: &Tensor, y: &Tensor) -> Tensor {
    logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0)
}

/// `x` in channels-last layout when asked for, else as it is.
fn in_layout(x: Tensor, channels_last: bool) -> Tensor {
    if channels_last {
        crate::models::channels_last(&x)
    } else {
        x
    }
}

/// Where training stands after an epoch: everything needed to continue exactly as if it
/// had not stopped. The tensors are shallow (they share storage with the model and the
/// optimizer); a checkpoint writes them out.
#[derive(Debug)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// SGD steps taken.
    pub step: usize,
    /// Every epoch's metrics so far, epoch 0 included.
    pub metrics: Vec<EpochMetrics>,
    /// Positions (in 32-bit words) of the batch-order and augmentation streams.
    pub batch_stream: u128,
    pub augmentation_stream: u128,
    /// The model's variables (parameters and buffers such as batch-norm statistics), by name.
    pub variables: Vec<(String, Tensor)>,
    /// The optimizer's momentum buffers, in [`Optimizer::buffers`] order.
    pub momentum: Vec<Tensor>,
    /// The loss scaler's (scale, good steps, skipped), with mixed precision.
    pub scaler: Option<(f64, usize, usize)>,
}

/// What saves a [`TrainState`] (when it is due).
pub type SaveState<'a> = dyn FnMut(&TrainState) -> Result<()> + 'a;

/// Resuming and checkpointing: where to start from, and what to call after each epoch.
#[derive(Default)]
pub struct Checkpoints<'a> {
    /// A state saved by an earlier, interrupted run of the same experiment.
    pub resume: Option<TrainState>,
    /// Called after every epoch (not after the last) with the state, to save it when due.
    pub save: Option<&'a mut SaveState<'a>>,
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
