//! How a model's parameters start: tch's defaults, or PyTorch's, so that runs compare with
//! PyTorch reproductions of Zhang et al. 2017.
//!
//! | layer | `tch` (the default) | `pytorch` |
//! |---|---|---|
//! | linear weight | U(±√(6/fan_in)) (He uniform) | U(±1/√fan_in) (`kaiming_uniform(a=√5)`) |
//! | linear bias | U(±1/√fan_in) | U(±1/√fan_in) |
//! | conv weight | U(±√(6/fan_in)) | U(±1/√fan_in) |
//! | conv bias | 0 | U(±1/√fan_in) |
//! | batch norm weight | U(0, 1) | 1 |
//! | batch norm bias | 0 | 0 |
//!
//! fan_in is the weight's input channels times its kernel area (a linear layer's inputs).
//! Batch norm's running statistics start at mean 0 and variance 1 under both.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::{nn, Tensor};

/// The initialization of every layer (see the module docs for the table).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// tch's layer defaults, which this harness's calibrations used.
    #[default]
    Tch,
    /// PyTorch's layer defaults (`nn.Linear`, `nn.Conv2d`, `nn.BatchNorm2d`).
    Pytorch,
}

crate::named!(Init, "init", "init");

/// Gives every trainable variable of a freshly built model in `vs` its `init` value, in
/// place, drawing from libtorch's seeded generator in the order of the variables' names.
/// `Init::Tch` leaves the model as built. A trainable variable that is neither a layer's
/// `weight` nor its `bias` is an error naming it.
pub fn initialize(vs: &nn::VarStore, init: Init) -> Result<()> {
    if init == Init::Tch {
        return Ok(());
    }
    let vars: BTreeMap<String, Tensor> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    let fan_in = |weight: &Tensor| -> i64 { weight.size()[1..].iter().product() };
    tch::no_grad(|| {
        for (name, t) in &vars {
            let (layer, kind) = name.rsplit_once('.').unwrap_or(("", name.as_str()));
            let weight = match kind {
                "weight" => t,
                "bias" => vars.get(&format!("{layer}.weight")).ok_or_else(|| {
                    Error::config("init", format!("bias {name} has no weight beside it"))
                })?,
                _ => {
                    return Err(Error::config(
                        "init",
                        format!("cannot initialize {name}: neither a weight nor a bias"),
                    ))
                }
            };
            let mut t = t.shallow_clone();
            if weight.dim() >= 2 {
                // Linear and convolution layers.
                let bound = 1.0 / (fan_in(weight) as f64).sqrt();
                let _ = t.uniform_(-bound, bound);
            } else if kind == "weight" {
                // Batch norm's scale.
                let _ = t.fill_(1.0);
            } else {
                // Batch norm's shift.
                let _ = t.zero_();
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{build, Config, ModelKind};

    fn built(kind: ModelKind, init: Init, seed: i64) -> nn::VarStore {
        tch::manual_seed(seed);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        build(&vs.root(), kind, &Config::new(3, 28, 10)).unwrap();
        initialize(&vs, init).unwrap();
        vs
    }

    #[test]
    fn pytorch_init_matches_pytorch_defaults_for_every_layer_type() {
        for &kind in ModelKind::all() {
            let vs = built(kind, Init::Pytorch, 0);
            let vars: BTreeMap<_, _> = vs.variables().into_iter().collect();
            let mut seen = [false; 3];
            for (name, t) in &vars {
                if !t.requires_grad() {
                    continue;
                }
                let layer = name.rsplit_once('.').unwrap().0;
                let w = &vars[&format!("{layer}.weight")];
                let (lo, hi) = (t.min().double_value(&[]), t.max().double_value(&[]));
                if w.dim() >= 2 {
                    let bound = 1.0 / (w.size()[1..].iter().product::<i64>() as f64).sqrt();
                    assert!(
                        lo >= -bound && hi <= bound,
                        "{kind} {name}: [{lo}, {hi}] vs ±{bound}"
                    );
                    if t.numel() >= 1000 {
                        // Uniform on ±bound: standard deviation bound/√3.
                        let sd = t.std(true).double_value(&[]);
                        let want = bound / 3f64.sqrt();
                        assert!(
                            (sd / want - 1.0).abs() < 0.1,
                            "{kind} {name}: sd {sd} vs {want}"
                        );
                        seen[0] = true;
                    } else if name.ends_with(".bias") {
                        assert!(hi > lo, "{kind} {name}: a bias left constant");
                        seen[1] = true;
                    }
                } else {
                    let want = if name.ends_with(".weight") { 1.0 } else { 0.0 };
                    assert_eq!((lo, hi), (want, want), "{kind} batch norm {name}");
                    seen[2] = true;
                }
            }
            assert!(seen[0], "{kind}: no large weight checked");
            // Inception's batch norm has no affine parameters (Appendix A); ResNet18's has.
            if kind == ModelKind::Resnet18 {
                assert!(seen[2], "{kind}: no batch norm checked");
            }
            if kind == ModelKind::Alexnet {
                assert!(seen[1], "{kind}: no small bias checked");
            }
        }
    }

    #[test]
    fn tch_init_is_the_model_as_built_and_pytorch_init_is_seeded() {
        let a = built(ModelKind::Alexnet, Init::Tch, 3);
        tch::manual_seed(3);
        let b = nn::VarStore::new(tch::Device::Cpu);
        build(&b.root(), ModelKind::Alexnet, &Config::new(3, 28, 10)).unwrap();
        let (p, q) = (
            built(ModelKind::Alexnet, Init::Pytorch, 3),
            built(ModelKind::Alexnet, Init::Pytorch, 3),
        );
        for (name, t) in a.variables() {
            assert!(t.equal(&b.variables()[&name]), "{name}");
            assert!(p.variables()[&name].equal(&q.variables()[&name]), "{name}");
        }
        // He uniform is √6 ≈ 2.45 times as wide as PyTorch's bound.
        let (wa, wp) = (&a.variables()["fc1.weight"], &p.variables()["fc1.weight"]);
        let ratio = wa.std(true).double_value(&[]) / wp.std(true).double_value(&[]);
        assert!((ratio / 6f64.sqrt() - 1.0).abs() < 0.05, "ratio {ratio}");
    }
}
