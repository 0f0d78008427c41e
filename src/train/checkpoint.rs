//! Where training stands after an epoch, and the hooks that resume from and save it.
use super::*;

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
