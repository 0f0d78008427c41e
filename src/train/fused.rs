//! The engine's own SGD step for the plain MLPs of Zhang et al. 2017 (Table 1, "MLP 1x512"
//! and "MLP 3x512"): the same arithmetic as libtorch autograd followed by `torch.optim.SGD`
//! (momentum without dampening, L2 weight decay), written out layer by layer.
//!
//! Why: on CPU the MLP step is two large GEMMs per layer plus memory-bound passes over the
//! weights, and the passes are where eager PyTorch loses time. Autograd writes each weight
//! gradient to a fresh tensor, then SGD scales the momentum buffer, adds the gradient to it
//! and adds the buffer to the weights: three passes after the GEMM. Here the weight-gradient
//! GEMM accumulates straight into the scaled momentum buffer (`addmm_`), and the update is one
//! in-place pass (`addcmul_`), with no autograd graph to build. The loss gradient comes from
//! the same ATen kernels autograd uses (`nll_loss_backward`, `_log_softmax_backward_data`).
use tch::{nn, Reduction, Tensor};

/// One linear layer's parameters (shared with the model) and momentum buffers.
#[derive(Debug)]
struct Dense {
    /// `[out, in]`
    w: Tensor,
    /// `[out]`
    b: Tensor,
    vw: Tensor,
    vb: Tensor,
}

/// SGD with momentum over a plain MLP's layers; see the module docs.
#[derive(Debug)]
pub struct MlpSgd {
    layers: Vec<Dense>,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
}

impl MlpSgd {
    /// `layers` in order, the output layer last; every layer needs a bias. The weights are
    /// shared with the model (shallow clones), so the model sees every update.
    pub fn new<'a>(
        layers: impl IntoIterator<Item = &'a nn::Linear>,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Self {
        let layers = layers
            .into_iter()
            .map(|l| {
                let b = l.bs.as_ref().expect("a plain MLP layer has a bias");
                Dense {
                    w: l.ws.shallow_clone(),
                    b: b.shallow_clone(),
                    vw: l.ws.zeros_like(),
                    vb: b.zeros_like(),
                }
            })
            .collect();
        MlpSgd {
            layers,
            lr,
            momentum,
            weight_decay,
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// The momentum buffers, weight then bias per layer (for checkpoints).
    pub fn buffers(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|l| [l.vw.shallow_clone(), l.vb.shallow_clone()])
            .collect()
    }

    /// Restores [`MlpSgd::buffers`]; an error when their number or shapes differ.
    pub fn load_buffers(&mut self, saved: &[Tensor]) -> std::result::Result<(), String> {
        let buffers = self
            .layers
            .iter_mut()
            .flat_map(|l| [&mut l.vw, &mut l.vb])
            .collect();
        super::sgd::restore(buffers, saved)
    }

    /// One step on the batch `x` `[N, ...]` (flattened to `[N, D]`) with labels `y` `[N]`:
    /// mean cross-entropy, ReLU between the layers, as `Mlp::forward_t` without dropout.
    pub fn step(&mut self, x: &Tensor, y: &Tensor) {
        let _guard = tch::no_grad_guard();
        let depth = self.layers.len();
        // Forward, keeping every layer's input for its weight gradient.
        let mut inputs = Vec::with_capacity(depth);
        let mut a = x.flatten(1, -1); // [N, D]
        for (i, l) in self.layers.iter().enumerate() {
            let mut z = l.b.addmm(&a, &l.w.tr()); // [N, out]
            if i + 1 < depth {
                let _ = z.relu_();
            }
            inputs.push(a);
            a = z;
        }
        // a: logits [N, classes]. dL/dlogits for the mean cross-entropy, by the kernels
        // autograd would call for log_softmax followed by nll_loss.
        let kind = a.kind();
        let log_p = a.log_softmax(-1, kind);
        let opts = (kind, a.device());
        let total_weight = Tensor::full([], y.size()[0] as f64, opts);
        let g_log_p = log_p.nll_loss_backward(
            &Tensor::ones([], opts),
            y,
            None::<Tensor>,
            Reduction::Mean,
            -100,
            &total_weight,
        );
        let mut g = Tensor::internal_log_softmax_backward_data(&g_log_p, &log_p, 1, kind);

        let neg_lr = Tensor::full([], -self.lr, opts);
        let decay = Tensor::full([], self.weight_decay, opts);
        for (i, l) in self.layers.iter_mut().enumerate().rev() {
            let input = &inputs[i];
            // The gradient for the layer below, [N, in], with this layer's weights before the
            // update.
            let below = (i > 0).then(|| input.threshold_backward(&g.mm(&l.w), 0.0));
            // v = momentum·v + dL/dW (+ weight_decay·W), then W -= lr·v; likewise the bias.
            for v in [&mut l.vw, &mut l.vb] {
                if self.momentum == 0.0 {
                    let _ = v.zero_();
                } else {
                    let _ = v.g_mul_scalar_(self.momentum);
                }
            }
            let _ = l.vw.addmm_(&g.tr(), input); // [out, N] x [N, in]
            let _ = l.vb.g_add_(&g.sum_dim_intlist(0, false, kind));
            if self.weight_decay != 0.0 {
                let _ = l.vw.addcmul_(&l.w, &decay);
                let _ = l.vb.addcmul_(&l.b, &decay);
            }
            let _ = l.w.addcmul_(&l.vw, &neg_lr);
            let _ = l.b.addcmul_(&l.vb, &neg_lr);
            if let Some(below) = below {
                g = below;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Optimizer;
    use crate::models::{self, Config, ModelKind};
    use tch::{nn, Device, Kind, Tensor};

    /// Trains two copies of the same MLP side by side, one with autograd and libtorch's SGD,
    /// one with the fused step, and returns the largest parameter difference relative to the
    /// parameter's scale after `steps` steps.
    fn max_rel_diff(kind: ModelKind, momentum: f64, weight_decay: f64, steps: usize) -> f64 {
        let cfg = Config::new(1, 6, 10);
        tch::manual_seed(7);
        let mut vs_a = nn::VarStore::new(Device::Cpu);
        let m_a = models::build(&vs_a.root(), kind, &cfg).unwrap();
        let vs_f = nn::VarStore::new(Device::Cpu);
        let m_f = models::build(&vs_f.root(), kind, &cfg).unwrap();
        vs_a.copy(&vs_f).unwrap();
        let mut auto = Optimizer::autograd(&vs_a, 0.05, momentum, weight_decay).unwrap();
        let mut fused = Optimizer::sgd(m_f.as_ref(), &vs_f, 0.05, momentum, weight_decay).unwrap();
        assert_eq!(auto.name(), "autograd");
        assert_eq!(fused.name(), "fused-mlp");
        for step in 0..steps {
            // 37 examples: not a multiple of anything, as the last batch of an epoch.
            let x = Tensor::randn([37, 1, 6, 6], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(10, [37], (Kind::Int64, Device::Cpu));
            if step == steps / 2 {
                auto.set_lr(0.02);
                fused.set_lr(0.02);
            }
            auto.step(m_a.as_ref(), &x, &y);
            fused.step(m_f.as_ref(), &x, &y);
        }
        let a = vs_a.variables();
        let f = vs_f.variables();
        assert_eq!(a.len(), f.len());
        a.iter()
            .map(|(name, ta)| {
                let tf = &f[name];
                let scale = ta.abs().max().double_value(&[]).max(1e-3);
                (ta - tf).abs().max().double_value(&[]) / scale
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn fused_mlp_step_matches_autograd_and_libtorch_sgd() {
        for kind in [ModelKind::Mlp1x512, ModelKind::Mlp3x512] {
            for (momentum, wd) in [(0.9, 0.0), (0.9, 5e-3), (0.0, 0.0)] {
                let d = max_rel_diff(kind, momentum, wd, 20);
                assert!(d < 1e-5, "{kind} momentum {momentum} wd {wd}: {d:e}");
            }
        }
    }

    #[test]
    fn models_with_dropout_or_other_layers_train_with_autograd() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut cfg = Config::new(1, 28, 10);
        cfg.dropout = 0.5;
        let mlp = models::build(&(&vs.root() / "a"), ModelKind::Mlp1x512, &cfg).unwrap();
        let alex = models::build(
            &(&vs.root() / "b"),
            ModelKind::Alexnet,
            &Config::new(1, 28, 10),
        );
        for m in [mlp, alex.unwrap()] {
            let opt = Optimizer::sgd(m.as_ref(), &vs, 0.01, 0.9, 0.0).unwrap();
            assert_eq!(opt.name(), "autograd");
        }
    }
}
