//! Mixed precision for CUDA runs: the forward pass under libtorch's autocast (which tch 0.24
//! exposes for CUDA only, in fp16), and dynamic loss scaling as PyTorch's `GradScaler` does
//! it, so that small fp16 gradients do not flush to zero: the loss is multiplied by a scale
//! before backward, the gradients are divided by it before the step, a step whose gradients
//! are not finite is skipped and the scale halved, and after `growth_interval` good steps in
//! a row the scale doubles.
use super::sgd::Sgd;
use tch::Tensor;

/// Dynamic loss scaling; see the module docs.
#[derive(Debug, Clone)]
pub struct LossScaler {
    scale: f64,
    growth_interval: usize,
    good_steps: usize,
    skipped: usize,
}

impl Default for LossScaler {
    /// `GradScaler`'s defaults: an initial scale of 2^16, doubled after 2,000 good steps.
    fn default() -> Self {
        LossScaler::new(65536.0, 2000)
    }
}

impl LossScaler {
    pub fn new(scale: f64, growth_interval: usize) -> Self {
        LossScaler {
            scale,
            growth_interval,
            good_steps: 0,
            skipped: 0,
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The state a checkpoint keeps: (scale, good steps since the last growth, skipped).
    pub fn state(&self) -> (f64, usize, usize) {
        (self.scale, self.good_steps, self.skipped)
    }

    /// Restores [`LossScaler::state`].
    pub fn set_state(&mut self, (scale, good_steps, skipped): (f64, usize, usize)) {
        self.scale = scale;
        self.good_steps = good_steps;
        self.skipped = skipped;
    }

    /// Steps skipped so far because a gradient was not finite.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Backward of `loss`·scale, gradients unscaled, then `opt`'s step if every gradient of
    /// `vars` is finite. Returns whether the step was taken. One value is read back from the
    /// device per step (whether the gradients are finite), as in `GradScaler`.
    pub fn backward_step(&mut self, loss: &Tensor, opt: &mut Sgd, vars: &[Tensor]) -> bool {
        opt.zero_grad();
        (loss * self.scale).backward();
        let mut finite = Vec::with_capacity(vars.len());
        for v in vars {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.g_div_scalar_(self.scale);
                finite.push(g.isfinite().all());
            }
        }
        let ok =
            finite.is_empty() || bool::try_from(Tensor::stack(&finite, 0).all()).unwrap_or(false);
        if ok {
            opt.step();
            self.good_steps += 1;
            if self.good_steps == self.growth_interval {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
        } else {
            self.skipped += 1;
            self.scale /= 2.0;
            self.good_steps = 0;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{self, Config, ModelKind};
    use tch::nn;
    use tch::nn::ModuleT;
    use tch::{Device, Kind, Reduction};

    fn sgd(vs: &nn::VarStore) -> Sgd {
        Sgd::new(vs.trainable_variables(), 0.05, 0.9, 0.0)
    }

    fn loss(m: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Tensor {
        m.forward_t(x, true)
            .cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0)
    }

    /// On CPU autocast does nothing, and scaling by a power of two is exact, so scaled steps
    /// land on exactly the parameters of unscaled ones.
    #[test]
    fn scaled_steps_equal_plain_steps_and_the_scale_grows() {
        let cfg = Config::new(1, 8, 10);
        tch::manual_seed(5);
        let mut vs_a = nn::VarStore::new(Device::Cpu);
        let m_a = models::build(&vs_a.root(), ModelKind::Alexnet, &cfg).unwrap();
        let vs_s = nn::VarStore::new(Device::Cpu);
        let m_s = models::build(&vs_s.root(), ModelKind::Alexnet, &cfg).unwrap();
        vs_a.copy(&vs_s).unwrap();
        let (mut opt_a, mut opt_s) = (sgd(&vs_a), sgd(&vs_s));
        let mut scaler = LossScaler::new(1024.0, 3);
        let vars = vs_s.trainable_variables();
        for _ in 0..4 {
            let x = Tensor::randn([8, 1, 8, 8], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(10, [8], (Kind::Int64, Device::Cpu));
            opt_a.backward_step(&loss(m_a.as_ref(), &x, &y));
            assert!(scaler.backward_step(&loss(m_s.as_ref(), &x, &y), &mut opt_s, &vars));
        }
        let (a, s) = (vs_a.variables(), vs_s.variables());
        for (name, t) in &a {
            assert!(t.equal(&s[name]), "{name} differs");
        }
        assert_eq!(scaler.scale(), 2048.0, "doubled after 3 good steps");
        assert_eq!(scaler.skipped(), 0);
    }

    /// A step whose gradients overflow is skipped: the parameters stay, the scale halves.
    #[test]
    fn a_step_with_non_finite_gradients_is_skipped_and_the_scale_halves() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = models::build(&vs.root(), ModelKind::Mlp1x512, &Config::new(1, 4, 10)).unwrap();
        let mut opt = sgd(&vs);
        let mut scaler = LossScaler::default();
        let before: Vec<Tensor> = vs.trainable_variables().iter().map(|t| t.copy()).collect();
        let x = Tensor::randn([4, 1, 4, 4], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [4], (Kind::Int64, Device::Cpu));
        let overflow = loss(m.as_ref(), &x, &y) * 1e38;
        assert!(!scaler.backward_step(&overflow, &mut opt, &vs.trainable_variables()));
        assert_eq!(scaler.scale(), 32768.0);
        assert_eq!(scaler.skipped(), 1);
        for (b, t) in before.iter().zip(vs.trainable_variables()) {
            assert!(b.equal(&t), "a skipped step changed a parameter");
        }
        // The next, finite step goes through.
        assert!(scaler.backward_step(
            &loss(m.as_ref(), &x, &y),
            &mut opt,
            &vs.trainable_variables()
        ));
    }
}
