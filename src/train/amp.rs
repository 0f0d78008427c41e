//! Mixed precision for CUDA runs: the forward pass under libtorch's autocast (which tch 0.24
//! exposes for CUDA only, in fp16), and dynamic loss scaling as PyTorch's `GradScaler` does
//! it, so that small fp16 gradients do not flush to zero: the loss is multiplied by a scale
//! before backward, the gradients are divided by it before the step, a step whose gradients
//! are not finite is skipped and the scale halved, and after `growth_interval` good steps in
//! a row the scale doubles.
//!
//! With the flat SGD ([`Sgd::flat`]) all of it stays on the device: the scale, the count of
//! good steps and of skipped steps are device tensors, the gradients are unscaled and checked
//! as one buffer, the step is taken or skipped by a device-side select, and libtorch's
//! `_amp_update_scale_` moves the scale. Nothing is read back per step; the host reads the
//! state only when asked ([`LossScaler::state`], at checkpoints). With the per-tensor SGD the
//! check reads one flag back per step, as `GradScaler` does.
use super::sgd::Sgd;
use tch::{Device, Kind, Tensor};

/// Dynamic loss scaling; see the module docs.
#[derive(Debug)]
pub struct LossScaler {
    /// 0-dim f32: the scale.
    scale: Tensor,
    /// 0-dim i32: good steps since the scale last changed.
    good_steps: Tensor,
    /// 0-dim i64: steps skipped so far.
    skipped: Tensor,
    growth_interval: usize,
}

impl Default for LossScaler {
    /// `GradScaler`'s defaults: an initial scale of 2^16, doubled after 2,000 good steps.
    fn default() -> Self {
        LossScaler::new(65536.0, 2000)
    }
}

impl LossScaler {
    pub fn new(scale: f64, growth_interval: usize) -> Self {
        let mut s = LossScaler {
            scale: Tensor::zeros([], (Kind::Float, Device::Cpu)),
            good_steps: Tensor::zeros([], (Kind::Int, Device::Cpu)),
            skipped: Tensor::zeros([], (Kind::Int64, Device::Cpu)),
            growth_interval,
        };
        s.set_state((scale, 0, 0));
        s
    }

    /// The state on `device` (moved there once, on the first step).
    fn to(&mut self, device: Device) {
        if self.scale.device() != device {
            self.scale = self.scale.to_device(device);
            self.good_steps = self.good_steps.to_device(device);
            self.skipped = self.skipped.to_device(device);
        }
    }

    /// The scale (read from the device).
    pub fn scale(&self) -> f64 {
        self.scale.double_value(&[])
    }

    /// The state a checkpoint keeps: (scale, good steps since the last growth, skipped),
    /// read from the device.
    pub fn state(&self) -> (f64, usize, usize) {
        (
            self.scale(),
            self.good_steps.int64_value(&[]) as usize,
            self.skipped(),
        )
    }

    /// Restores [`LossScaler::state`].
    pub fn set_state(&mut self, (scale, good_steps, skipped): (f64, usize, usize)) {
        let _guard = tch::no_grad_guard();
        let _ = self.scale.fill_(scale);
        let _ = self.good_steps.fill_(good_steps as i64);
        let _ = self.skipped.fill_(skipped as i64);
    }

    /// Steps skipped so far because a gradient was not finite (read from the device).
    pub fn skipped(&self) -> usize {
        self.skipped.int64_value(&[]) as usize
    }

    /// Backward of `loss`·scale, gradients unscaled, then `opt`'s step if every gradient is
    /// finite, and the scale updated. With the flat SGD every part of it is a device
    /// operation and nothing waits on the device; otherwise one flag is read back.
    pub fn backward_step(&mut self, loss: &Tensor, opt: &mut Sgd) {
        self.to(loss.device());
        opt.zero_grad();
        (loss * &self.scale).backward();
        let _guard = tch::no_grad_guard();
        let found_inf = opt.unscale_grads(&self.scale.reciprocal());
        opt.step_unless(&found_inf);
        let _ = self.skipped.g_add_(&found_inf.to_kind(Kind::Int64));
        let _ = self.scale.internal_amp_update_scale_(
            &self.good_steps,
            &found_inf,
            2.0,
            0.5,
            self.growth_interval as i64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{self, Config, ModelKind};
    use crate::train::sgd::Layout;
    use tch::nn;
    use tch::nn::ModuleT;
    use tch::{Device, Kind, Reduction};

    /// The per-tensor SGD (the flag read back) or the flat one (everything on the device).
    fn sgd(vs: &nn::VarStore, flat: bool, wd: f64) -> Sgd {
        let make = if flat { Sgd::flat } else { Sgd::new };
        make(vs.trainable_variables(), 0.05, 0.9, wd)
    }

    fn loss(m: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Tensor {
        m.forward_t(x, true)
            .cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0)
    }

    /// On CPU autocast does nothing, and scaling by a power of two is exact, so scaled steps
    /// (with weight decay) land on exactly the parameters of unscaled ones, in either layout.
    #[test]
    fn scaled_steps_equal_plain_steps_and_the_scale_grows() {
        for flat in [false, true] {
            let cfg = Config::new(1, 8, 10);
            tch::manual_seed(5);
            let vs_a = nn::VarStore::new(Device::Cpu);
            let m_a = models::build(&vs_a.root(), ModelKind::Alexnet, &cfg).unwrap();
            let mut vs_s = nn::VarStore::new(Device::Cpu);
            let m_s = models::build(&vs_s.root(), ModelKind::Alexnet, &cfg).unwrap();
            vs_s.copy(&vs_a).unwrap();
            let (mut opt_a, mut opt_s) = (sgd(&vs_a, false, 5e-3), sgd(&vs_s, flat, 5e-3));
            assert_eq!(
                opt_s.layout(),
                if flat {
                    Layout::Flat
                } else {
                    Layout::PerTensor
                }
            );
            let mut scaler = LossScaler::new(1024.0, 3);
            for _ in 0..4 {
                let x = Tensor::randn([8, 1, 8, 8], (Kind::Float, Device::Cpu));
                let y = Tensor::randint(10, [8], (Kind::Int64, Device::Cpu));
                opt_a.backward_step(&loss(m_a.as_ref(), &x, &y));
                scaler.backward_step(&loss(m_s.as_ref(), &x, &y), &mut opt_s);
            }
            let (a, s) = (vs_a.variables(), vs_s.variables());
            for (name, t) in &a {
                assert!(t.equal(&s[name]), "flat {flat}: {name} differs");
            }
            assert_eq!(scaler.state(), (2048.0, 1, 0), "doubled after 3 good steps");
        }
    }

    /// A step whose gradients overflow is skipped: the parameters and momentum stay, the
    /// scale halves; in the flat layout without reading anything back.
    #[test]
    fn a_step_with_non_finite_gradients_is_skipped_and_the_scale_halves() {
        for flat in [false, true] {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = models::build(&vs.root(), ModelKind::Mlp1x512, &Config::new(1, 4, 10)).unwrap();
            let mut opt = sgd(&vs, flat, 5e-3);
            let mut scaler = LossScaler::default();
            let x = Tensor::randn([4, 1, 4, 4], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(10, [4], (Kind::Int64, Device::Cpu));
            let vars = vs.trainable_variables();
            // A good step first, so that the momentum is not zero.
            scaler.backward_step(&loss(m.as_ref(), &x, &y), &mut opt);
            let copy = |ts: &[Tensor]| -> Vec<Tensor> { ts.iter().map(|t| t.copy()).collect() };
            let (before, momentum) = (copy(&vars), copy(opt.buffers()));
            let overflow = loss(m.as_ref(), &x, &y) * 1e38;
            scaler.backward_step(&overflow, &mut opt);
            assert_eq!(scaler.state(), (32768.0, 0, 1), "flat {flat}");
            for (b, t) in before.iter().zip(&vars) {
                assert!(
                    b.equal(t),
                    "flat {flat}: a skipped step changed a parameter"
                );
            }
            for (b, t) in momentum.iter().zip(opt.buffers()) {
                assert!(
                    b.equal(t),
                    "flat {flat}: a skipped step changed the momentum"
                );
            }
            // The next, finite step goes through.
            scaler.backward_step(&loss(m.as_ref(), &x, &y), &mut opt);
            assert_eq!(scaler.skipped(), 1);
            assert!(
                !before[0].equal(&vars[0]),
                "flat {flat}: the good step did nothing"
            );
        }
    }
}
