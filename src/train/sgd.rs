//! The engine's SGD for models trained through autograd: momentum without dampening and L2
//! weight decay, as PyTorch's `torch.optim.SGD`, written out so that its state (one momentum
//! buffer per parameter) can be checkpointed and restored exactly. libtorch's own optimizer
//! keeps that state where tch cannot read it.
//!
//! Per parameter `p` with gradient `g`: `v = momentum·v + g + weight_decay·p`, then
//! `p -= lr·v`, with `v` starting at zero (so the first step's `v` is the gradient, as in
//! PyTorch). The arithmetic is PyTorch's; the rounding may differ in the last bit where
//! PyTorch fuses a multiply into an add.
use tch::Tensor;

/// SGD over a fixed list of parameters, with their momentum buffers.
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Tensor>,
    buffers: Vec<Tensor>,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
}

impl Sgd {
    /// `params` are shallow clones sharing storage with the model's variables.
    pub fn new(params: Vec<Tensor>, lr: f64, momentum: f64, weight_decay: f64) -> Self {
        let buffers = {
            let _guard = tch::no_grad_guard();
            params.iter().map(Tensor::zeros_like).collect()
        };
        Sgd {
            params,
            buffers,
            lr,
            momentum,
            weight_decay,
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Zeroes every gradient (accumulating into zeros gives the gradient exactly).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update from the gradients autograd left on the parameters; a parameter without a
    /// gradient is left alone.
    pub fn step(&mut self) {
        let _guard = tch::no_grad_guard();
        // The step's scalars, made once per step (every parameter shares a kind and device).
        let Some(first) = self.params.first() else {
            return;
        };
        let opts = (first.kind(), first.device());
        let decay = Tensor::full([], self.weight_decay, opts);
        let neg_lr = Tensor::full([], -self.lr, opts);
        for (p, v) in self.params.iter_mut().zip(&mut self.buffers) {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            let _ = v.g_mul_scalar_(self.momentum);
            let _ = v.g_add_(&g);
            if self.weight_decay != 0.0 {
                let _ = v.addcmul_(p, &decay);
            }
            let _ = p.addcmul_(v, &neg_lr);
        }
    }

    /// Zero the gradients, backward of `loss`, one step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.zero_grad();
        loss.backward();
        self.step();
    }

    /// The momentum buffers, in parameter order (for checkpoints).
    pub fn buffers(&self) -> &[Tensor] {
        &self.buffers
    }

    /// Restores the momentum buffers saved by [`Sgd::buffers`]; an error when their number,
    /// shapes or kinds differ.
    pub fn load_buffers(&mut self, saved: &[Tensor]) -> std::result::Result<(), String> {
        restore(self.buffers.iter_mut().collect(), saved)
    }
}

/// Copies `saved` into `buffers` (momentum buffers from a checkpoint), after checking their
/// number, shapes and kinds.
pub(crate) fn restore(
    buffers: Vec<&mut Tensor>,
    saved: &[Tensor],
) -> std::result::Result<(), String> {
    if saved.len() != buffers.len() {
        return Err(format!(
            "{} momentum buffers saved, the optimizer has {}",
            saved.len(),
            buffers.len()
        ));
    }
    let _guard = tch::no_grad_guard();
    for (i, (v, s)) in buffers.into_iter().zip(saved).enumerate() {
        if v.size() != s.size() || s.kind() != v.kind() {
            return Err(format!(
                "momentum buffer {i}: saved {:?} {:?}, expected {:?} {:?}",
                s.size(),
                s.kind(),
                v.size(),
                v.kind()
            ));
        }
        v.copy_(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{self, Config, ModelKind};
    use tch::nn::{self, OptimizerConfig};
    use tch::{Device, Kind, Reduction};

    /// Against libtorch's `torch::optim::SGD` on AlexNet: the same arithmetic, so the
    /// parameters agree to rounding after 20 steps.
    #[test]
    fn matches_libtorch_sgd_to_rounding() {
        for wd in [0.0, 5e-3] {
            tch::manual_seed(1);
            let cfg = Config::new(1, 28, 10);
            let mut vs_a = nn::VarStore::new(Device::Cpu);
            let m_a = models::build(&vs_a.root(), ModelKind::Alexnet, &cfg).unwrap();
            let vs_b = nn::VarStore::new(Device::Cpu);
            let m_b = models::build(&vs_b.root(), ModelKind::Alexnet, &cfg).unwrap();
            vs_a.copy(&vs_b).unwrap();
            let mut lib = nn::Sgd {
                momentum: 0.9,
                wd,
                ..Default::default()
            }
            .build(&vs_a, 0.05)
            .unwrap();
            let mut ours = Sgd::new(vs_b.trainable_variables(), 0.05, 0.9, wd);
            for _ in 0..20 {
                let x = Tensor::randn([16, 1, 28, 28], (Kind::Float, Device::Cpu));
                let y = Tensor::randint(10, [16], (Kind::Int64, Device::Cpu));
                let loss = |m: &dyn nn::ModuleT| {
                    m.forward_t(&x, true).cross_entropy_loss::<Tensor>(
                        &y,
                        None,
                        Reduction::Mean,
                        -100,
                        0.0,
                    )
                };
                lib.backward_step(&loss(m_a.as_ref()));
                ours.backward_step(&loss(m_b.as_ref()));
            }
            let (a, b) = (vs_a.variables(), vs_b.variables());
            for (name, t) in &a {
                let d = (t - &b[name]).abs().max().double_value(&[]);
                let scale = t.abs().max().double_value(&[]).max(1e-12);
                assert!(d / scale < 1e-4, "wd {wd}: {name} differs by {d:e}");
            }
        }
    }

    #[test]
    fn restored_buffers_continue_exactly() {
        let cfg = Config::new(1, 8, 10);
        tch::manual_seed(2);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = models::build(&vs.root(), ModelKind::Mlp1x512, &cfg).unwrap();
        let mut opt = Sgd::new(vs.trainable_variables(), 0.1, 0.9, 1e-3);
        let x = Tensor::randn([4, 1, 8, 8], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [4], (Kind::Int64, Device::Cpu));
        let loss = || {
            m.forward_t(&x, true)
                .cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0)
        };
        opt.backward_step(&loss());
        let saved: Vec<Tensor> = opt.buffers().iter().map(Tensor::copy).collect();
        let params: Vec<Tensor> = vs.trainable_variables().iter().map(Tensor::copy).collect();
        opt.backward_step(&loss());
        let after: Vec<Tensor> = vs.trainable_variables().iter().map(Tensor::copy).collect();
        // Back to the saved state, in a new optimizer: the same step again.
        tch::no_grad(|| {
            for (p, s) in vs.trainable_variables().iter_mut().zip(&params) {
                p.copy_(s);
            }
        });
        let mut again = Sgd::new(vs.trainable_variables(), 0.1, 0.9, 1e-3);
        again.load_buffers(&saved).unwrap();
        again.backward_step(&loss());
        for (a, b) in after.iter().zip(vs.trainable_variables()) {
            assert!(a.equal(&b));
        }
        assert!(again.load_buffers(&saved[1..]).is_err());
    }
}
