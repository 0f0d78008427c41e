//! The engine's SGD for models trained through autograd: momentum without dampening and L2
//! weight decay, as PyTorch's `torch.optim.SGD`, written out so that its state (one momentum
//! buffer per parameter) can be checkpointed and restored exactly. libtorch's own optimizer
//! keeps that state where tch cannot read it.
//!
//! Per parameter `p` with gradient `g`: `v = momentum·v + (g + weight_decay·p)`, then
//! `p -= lr·v`, with `v` starting at zero (so the first step's `v` is the gradient, as in
//! PyTorch). The order and the kernels are libtorch's: 5 steps on every model, with and
//! without weight decay, land on libtorch's parameters bit for bit (tested). Adding the
//! decay after the momentum instead, `(momentum·v + g) + weight_decay·p`, is the same in
//! exact arithmetic but differs from libtorch from the second step on (by up to 1e-4
//! relative after 20 steps on the batch-norm nets).
use tch::{Kind, Tensor};

/// SGD over a fixed list of parameters, with their momentum buffers.
///
/// Two layouts, one arithmetic. [`Sgd::new`] updates each parameter tensor in turn: three
/// kernels per tensor per step (four with weight decay) and one more each to zero its
/// gradient, so a step's launches grow with the model's tensor count (ResNet18 has 62).
/// [`Sgd::flat`] first moves every parameter, gradient and momentum buffer into one buffer
/// each (every parameter a view into its buffer, in its own strides), so that zeroing the
/// gradients is one kernel and the update three (four with weight decay), whatever the model.
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Tensor>,
    buffers: Vec<Tensor>,
    flat: Option<Flat>,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    /// The step's scalars as 0-dim tensors on the parameters' device, with the learning rate
    /// they were made for: made again only when the rate changes, so a CUDA step launches no
    /// fill kernels for them.
    scalars: Option<(f64, Scalars)>,
}

/// `weight_decay` and `-lr` as 0-dim tensors, the operands of the update's kernels.
#[derive(Debug)]
struct Scalars {
    decay: Tensor,
    neg_lr: Tensor,
}

/// How [`Sgd`] holds its parameters: see [`Sgd::new`] and [`Sgd::flat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    PerTensor,
    Flat,
}

impl Layout {
    /// What training uses: the flat layout (the same numbers, a constant number of kernels
    /// per step; `benches/README.md` has the measured gain).
    pub const DEFAULT: Layout = Layout::Flat;
}

crate::named!(Layout, "layout", "SGD layout");

/// The flat layout's buffers: parameters, gradients and momentum, each one 1-D tensor of
/// which every parameter's tensor is a view at `offsets[i]`.
#[derive(Debug)]
struct Flat {
    params: Tensor,
    grads: Tensor,
    momentum: Tensor,
    offsets: Vec<i64>,
    /// Whether parameter i's gradient already lives in `grads` (it does from the first
    /// backward that reaches it on; autograd then accumulates into it in place).
    attached: Vec<bool>,
}

/// The view of `buf` at `offset` with `like`'s sizes and strides.
fn view_like(buf: &Tensor, like: &Tensor, offset: i64) -> Tensor {
    buf.as_strided(like.size(), like.stride(), Some(offset))
}

/// Whether `t` covers exactly `numel` consecutive elements (contiguous in some dimension
/// order: NCHW or channels-last), so that it can be a view into a flat buffer: its
/// dimensions longer than 1, taken by increasing stride, have strides 1, d0, d0·d1, ...
fn dense(t: &Tensor) -> bool {
    let (size, stride) = (t.size(), t.stride());
    if size.contains(&0) {
        return false;
    }
    let mut order: Vec<usize> = (0..size.len()).filter(|&i| size[i] > 1).collect();
    order.sort_by_key(|&i| stride[i]);
    let mut expected = 1;
    for i in order {
        if stride[i] != expected {
            return false;
        }
        expected *= size[i];
    }
    true
}

impl Sgd {
    /// `params` are shallow clones sharing storage with the model's variables; each is
    /// updated as its own tensor.
    pub fn new(params: Vec<Tensor>, lr: f64, momentum: f64, weight_decay: f64) -> Self {
        let buffers = {
            let _guard = tch::no_grad_guard();
            params.iter().map(Tensor::zeros_like).collect()
        };
        Sgd {
            params,
            buffers,
            flat: None,
            lr,
            momentum,
            weight_decay,
            scalars: None,
        }
    }

    /// The same SGD with every parameter moved into one flat buffer (values unchanged; the
    /// model's own handles see the move, as they share each parameter's tensor). Parameters
    /// that cannot be views of a flat buffer (of different kinds or devices, or not dense)
    /// keep the per-tensor layout.
    pub fn flat(params: Vec<Tensor>, lr: f64, momentum: f64, weight_decay: f64) -> Self {
        let mut sgd = Sgd::new(params, lr, momentum, weight_decay);
        let Some(first) = sgd.params.first() else {
            return sgd;
        };
        let opts = (first.kind(), first.device());
        if !sgd
            .params
            .iter()
            .all(|p| (p.kind(), p.device()) == opts && dense(p))
        {
            return sgd;
        }
        let _guard = tch::no_grad_guard();
        let mut offsets = Vec::with_capacity(sgd.params.len());
        let mut total = 0;
        for p in &sgd.params {
            offsets.push(total);
            total += p.numel() as i64;
        }
        let flat = Flat {
            params: Tensor::zeros([total], opts),
            grads: Tensor::zeros([total], opts),
            momentum: Tensor::zeros([total], opts),
            attached: vec![false; sgd.params.len()],
            offsets,
        };
        for (i, p) in sgd.params.iter_mut().enumerate() {
            let mut view = view_like(&flat.params, p, flat.offsets[i]);
            view.copy_(p);
            p.set_data(&view);
        }
        sgd.buffers = sgd
            .params
            .iter()
            .zip(&flat.offsets)
            .map(|(p, &o)| view_like(&flat.momentum, p, o))
            .collect();
        sgd.flat = Some(flat);
        sgd
    }

    /// [`Sgd::new`] or [`Sgd::flat`] by `layout`.
    pub fn with_layout(
        params: Vec<Tensor>,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
        layout: Layout,
    ) -> Self {
        match layout {
            Layout::PerTensor => Sgd::new(params, lr, momentum, weight_decay),
            Layout::Flat => Sgd::flat(params, lr, momentum, weight_decay),
        }
    }

    /// The layout in use (`flat` can fall back to per-tensor: see [`Sgd::flat`]).
    pub fn layout(&self) -> Layout {
        if self.flat.is_some() {
            Layout::Flat
        } else {
            Layout::PerTensor
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Zeroes every gradient (accumulating into zeros gives the gradient exactly): one
    /// kernel in the flat layout once every gradient lives in the flat buffer.
    pub fn zero_grad(&mut self) {
        match &mut self.flat {
            Some(f) => {
                let _ = f.grads.zero_();
                for (p, attached) in self.params.iter_mut().zip(&f.attached) {
                    if !attached {
                        p.zero_grad();
                    }
                }
            }
            None => {
                for p in &mut self.params {
                    p.zero_grad();
                }
            }
        }
    }

    /// Moves every gradient that autograd created since the last step into the flat
    /// buffer; true when every parameter's gradient now lives there.
    fn attach_grads(&mut self) -> bool {
        let Some(f) = &mut self.flat else {
            return false;
        };
        let _guard = tch::no_grad_guard();
        let mut all = true;
        for (i, p) in self.params.iter().enumerate() {
            if f.attached[i] {
                continue;
            }
            let mut g = p.grad();
            if !g.defined() {
                all = false;
                continue;
            }
            let mut view = view_like(&f.grads, p, f.offsets[i]);
            view.copy_(&g);
            g.set_data(&view);
            f.attached[i] = true;
        }
        all
    }

    /// Multiplies every gradient by `inv` (the loss scale's reciprocal, 0-dim on the
    /// parameters' device) in place, and returns 1 (0-dim f32, on the device) when any
    /// gradient is not finite, else 0. Over the flat gradient buffer once every gradient
    /// lives there; tensor by tensor otherwise.
    pub fn unscale_grads(&mut self, inv: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        let finite = if self.attach_grads() {
            let mut g = self
                .flat
                .as_ref()
                .expect("attached gradients are flat")
                .grads
                .shallow_clone();
            let _ = g.g_mul_(inv);
            g.isfinite().all()
        } else {
            let mut each = Vec::with_capacity(self.params.len());
            for p in &self.params {
                let mut g = p.grad();
                if g.defined() {
                    let _ = g.g_mul_(inv);
                    each.push(g.isfinite().all());
                }
            }
            if each.is_empty() {
                return Tensor::zeros([], (Kind::Float, inv.device()));
            }
            Tensor::stack(&each, 0).all()
        };
        finite.logical_not().to_kind(Kind::Float)
    }

    /// One update from the gradients autograd left on the parameters; a parameter without a
    /// gradient is left alone (in the flat layout, such a step runs tensor by tensor).
    pub fn step(&mut self) {
        let _guard = tch::no_grad_guard();
        // The step's scalars, kept between steps (every parameter shares a kind and device).
        let Some(Scalars { decay, neg_lr }) = self.scalars() else {
            return;
        };
        if self.attach_grads() {
            let f = self.flat.as_mut().expect("attached gradients are flat");
            Self::update(
                &mut f.params,
                &mut f.momentum,
                &f.grads,
                self.momentum,
                self.weight_decay,
                &decay,
                &neg_lr,
            );
            return;
        }
        for (p, v) in self.params.iter_mut().zip(&mut self.buffers) {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            Self::update(p, v, &g, self.momentum, self.weight_decay, &decay, &neg_lr);
        }
    }

    /// [`Sgd::step`] unless `found_inf` (0-dim, on the parameters' device) is non-zero. In
    /// the flat layout, with every gradient in the flat buffer, the choice is a device-side
    /// select over the whole buffers and nothing is read back; otherwise the flag is read.
    pub fn step_unless(&mut self, found_inf: &Tensor) {
        let _guard = tch::no_grad_guard();
        let all_flat = self
            .flat
            .as_ref()
            .is_some_and(|f| f.attached.iter().all(|&a| a));
        if !all_flat {
            if found_inf.double_value(&[]) == 0.0 {
                self.step();
            }
            return;
        }
        let Scalars { decay, neg_lr } = self.scalars().expect("a flat layout has parameters");
        let f = self.flat.as_mut().expect("checked above");
        // The arithmetic of `update`, out of place, then kept only where the step is good.
        let v = if self.weight_decay != 0.0 {
            f.momentum
                .g_mul_scalar(self.momentum)
                .g_add(&f.grads.addcmul(&f.params, &decay))
        } else {
            f.momentum.g_mul_scalar(self.momentum).g_add(&f.grads)
        };
        let p = f.params.addcmul(&v, &neg_lr);
        let ok = found_inf.eq(0.0);
        f.momentum.copy_(&v.where_self(&ok, &f.momentum));
        f.params.copy_(&p.where_self(&ok, &f.params));
    }

    /// This step's [`Scalars`] (shallow clones of the kept ones), on the parameters' kind and
    /// device; `None` without parameters.
    fn scalars(&mut self) -> Option<Scalars> {
        let first = self.params.first()?;
        if !matches!(&self.scalars, Some((lr, _)) if *lr == self.lr) {
            let opts = (first.kind(), first.device());
            let made = Scalars {
                decay: Tensor::full([], self.weight_decay, opts),
                neg_lr: Tensor::full([], -self.lr, opts),
            };
            self.scalars = Some((self.lr, made));
        }
        let (_, s) = self.scalars.as_ref()?;
        Some(Scalars {
            decay: s.decay.shallow_clone(),
            neg_lr: s.neg_lr.shallow_clone(),
        })
    }

    /// `v = momentum·v + (g + weight_decay·p)`, then `p -= lr·v`, in place: libtorch's order
    /// and kernels (its SGD adds the decay to the gradient first), so the result is
    /// libtorch's bit for bit.
    fn update(
        p: &mut Tensor,
        v: &mut Tensor,
        g: &Tensor,
        momentum: f64,
        weight_decay: f64,
        decay: &Tensor,
        neg_lr: &Tensor,
    ) {
        let _ = v.g_mul_scalar_(momentum);
        if weight_decay != 0.0 {
            let _ = v.g_add_(&g.addcmul(p, decay));
        } else {
            let _ = v.g_add_(g);
        }
        let _ = p.addcmul_(v, neg_lr);
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

    /// Steps of each comparison with libtorch. Every step after the first runs the same
    /// kernels on a nonzero momentum buffer, so a different order of operations shows as
    /// a nonzero difference from the second step on: adding the decay after the momentum,
    /// `(momentum·v + g) + weight_decay·p`, already differs after 2 steps on every model.
    const STEPS: i64 = 5;

    /// Trains a copy of the same model with libtorch's SGD and with ours in both layouts for
    /// [`STEPS`] steps (lr 0.01, momentum 0.9, batches of 8 random images); returns each layout's
    /// largest difference from libtorch, relative to the largest parameter, and whether the
    /// two layouts agree bit for bit.
    fn against_libtorch(kind: ModelKind, side: i64, wd: f64) -> (f64, f64, bool) {
        tch::manual_seed(1);
        let cfg = Config::new(1, side, 10);
        let build = |vs: &nn::VarStore| models::build(&vs.root(), kind, &cfg).unwrap();
        let vs_l = nn::VarStore::new(Device::Cpu);
        let m_l = build(&vs_l);
        let mut vs_t = nn::VarStore::new(Device::Cpu);
        let m_t = build(&vs_t);
        let mut vs_f = nn::VarStore::new(Device::Cpu);
        let m_f = build(&vs_f);
        vs_t.copy(&vs_l).unwrap();
        vs_f.copy(&vs_l).unwrap();
        let mut lib = nn::Sgd {
            momentum: 0.9,
            wd,
            ..Default::default()
        }
        .build(&vs_l, 0.01)
        .unwrap();
        let mut per = Sgd::new(vs_t.trainable_variables(), 0.01, 0.9, wd);
        let mut flat = Sgd::flat(vs_f.trainable_variables(), 0.01, 0.9, wd);
        assert_eq!(flat.layout(), Layout::Flat, "{kind}");
        for i in 0..STEPS {
            // A new batch each step (the generator is reseeded for dropout below).
            tch::manual_seed(100 + i);
            let x = Tensor::randn([8, 1, side, side], (Kind::Float, Device::Cpu));
            let y = Tensor::randint(10, [8], (Kind::Int64, Device::Cpu));
            let loss = |m: &dyn nn::ModuleT| {
                m.forward_t(&x, true).cross_entropy_loss::<Tensor>(
                    &y,
                    None,
                    Reduction::Mean,
                    -100,
                    0.0,
                )
            };
            // Dropout draws from the global generator: the same draws for each copy.
            tch::manual_seed(2);
            lib.backward_step(&loss(m_l.as_ref()));
            tch::manual_seed(2);
            per.backward_step(&loss(m_t.as_ref()));
            tch::manual_seed(2);
            flat.backward_step(&loss(m_f.as_ref()));
        }
        let (l, t, f) = (vs_l.variables(), vs_t.variables(), vs_f.variables());
        // The largest difference over the trainable parameters, relative to the largest
        // parameter (a conv bias before batch norm gets no gradient and stays near zero, so
        // a per-tensor ratio would divide by nothing).
        let trainable: Vec<String> = vs_l
            .variables()
            .into_iter()
            .filter(|(_, v)| v.requires_grad())
            .map(|(k, _)| k)
            .collect();
        let scale = trainable
            .iter()
            .map(|k| l[k].abs().max().double_value(&[]))
            .fold(0.0, f64::max);
        let rel = |other: &std::collections::HashMap<String, Tensor>| {
            trainable
                .iter()
                .map(|k| (&l[k] - &other[k]).abs().max().double_value(&[]))
                .fold(0.0, f64::max)
                / scale
        };
        let same = t.iter().all(|(name, a)| a.equal(&f[name]));
        (rel(&t), rel(&f), same)
    }

    /// Both layouts are libtorch's SGD: after [`STEPS`] steps on every conv net and the MLP, with
    /// and without weight decay, the parameters equal libtorch's bit for bit (and so each
    /// other's).
    #[test]
    fn both_layouts_are_libtorchs_sgd_bit_for_bit_on_every_model() {
        for (kind, side) in [
            (ModelKind::Mlp3x512, 8),
            (ModelKind::Alexnet, 28),
            (ModelKind::Inception, 28),
            (ModelKind::Resnet18, 8),
        ] {
            for wd in [0.0, 5e-3] {
                let (per, flat, same) = against_libtorch(kind, side, wd);
                assert!(same, "{kind} wd {wd}: the layouts differ");
                assert!(
                    per == 0.0 && flat == 0.0,
                    "{kind} wd {wd}: {per:e} / {flat:e}"
                );
            }
        }
    }

    /// In the flat layout the model's own variables are views of one buffer: a step moves
    /// them, and a checkpoint's momentum restores into the buffer.
    #[test]
    fn flat_parameters_are_the_models_variables() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = models::build(&vs.root(), ModelKind::Alexnet, &Config::new(1, 28, 10)).unwrap();
        let before: Vec<Tensor> = vs.trainable_variables().iter().map(Tensor::copy).collect();
        let mut opt = Sgd::flat(vs.trainable_variables(), 0.1, 0.9, 0.0);
        // Moving into the buffer changed no value.
        for (b, t) in before.iter().zip(vs.trainable_variables()) {
            assert!(b.equal(&t));
        }
        let x = Tensor::randn([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [4], (Kind::Int64, Device::Cpu));
        opt.backward_step(&m.forward_t(&x, true).cross_entropy_loss::<Tensor>(
            &y,
            None,
            Reduction::Mean,
            -100,
            0.0,
        ));
        for (b, t) in before.iter().zip(vs.trainable_variables()) {
            assert!(!b.equal(&t), "a variable of the model did not move");
        }
        let saved: Vec<Tensor> = opt.buffers().iter().map(Tensor::copy).collect();
        let mut other = Sgd::flat(vs.trainable_variables(), 0.1, 0.9, 0.0);
        other.load_buffers(&saved).unwrap();
        for (a, b) in saved.iter().zip(other.buffers()) {
            assert!(a.equal(b));
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

    #[test]
    fn a_new_learning_rate_takes_effect_at_the_next_step() {
        for layout in [Layout::PerTensor, Layout::Flat] {
            let p = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
            let mut opt = Sgd::with_layout(vec![p.shallow_clone()], 0.5, 0.0, 0.0, layout);
            let mut steps = Vec::new();
            for lr in [0.5, 0.5, 0.25, 0.125] {
                opt.set_lr(lr);
                opt.backward_step(&p.sum(Kind::Float));
                steps.push(p.double_value(&[0]));
            }
            // A gradient of 1 each step: the parameter falls by each step's rate.
            assert_eq!(steps, vec![-0.5, -1.0, -1.25, -1.375], "{}", layout.name());
        }
    }
}
