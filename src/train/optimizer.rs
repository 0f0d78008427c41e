//! The engine's optimizer: SGD through autograd (flat or per-tensor buffers), the same under
//! mixed precision with loss scaling, or the fused MLP step; and its checkpointable state.
use super::*;

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
