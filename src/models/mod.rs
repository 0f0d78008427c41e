//! The paper's architectures (Zhang et al. 2017, Appendix A and Table 1), one file each,
//! pinned by their exact parameter counts on 3×28×28 inputs.
pub mod alexnet;
pub mod inception;
pub mod init;
pub mod lrn;
pub mod mlp;
pub mod resnet;

use crate::error::{Error, Result};
pub use init::{initialize, Init};
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// The models, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Mlp1x512,
    Mlp3x512,
    Alexnet,
    Inception,
    InceptionNobn,
    Resnet18,
}

impl ModelKind {
    /// The smallest square input the architecture accepts.
    pub fn min_image_size(self) -> i64 {
        match self {
            // Two valid 3×3 stride-2 "Down" modules need at least 7×7.
            ModelKind::Inception | ModelKind::InceptionNobn => 7,
            _ => 1,
        }
    }
}

crate::named!(ModelKind, "model", "model");

/// What every architecture is built from: the input shape, the classes and dropout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub in_channels: i64,
    /// Inputs are `image_size`×`image_size`.
    pub image_size: i64,
    pub classes: i64,
    /// Dropout probability, 0 for none. Where it goes is documented per model.
    #[serde(default)]
    pub dropout: f64,
}

impl Config {
    pub fn new(in_channels: i64, image_size: i64, classes: i64) -> Self {
        Config {
            in_channels,
            image_size,
            classes,
            dropout: 0.0,
        }
    }

    /// Checks the config against the architecture; errors name the field.
    pub fn validate(&self, kind: ModelKind) -> Result<()> {
        if self.in_channels < 1 {
            return Err(Error::config("in_channels", "must be at least 1"));
        }
        if self.classes < 2 {
            return Err(Error::config("classes", "must be at least 2"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                "dropout",
                format!("{} is outside [0, 1)", self.dropout),
            ));
        }
        if self.image_size < kind.min_image_size() {
            return Err(Error::config(
                "image_size",
                format!(
                    "{kind} needs inputs of at least {0}x{0}, got {1}x{1}",
                    kind.min_image_size(),
                    self.image_size
                ),
            ));
        }
        Ok(())
    }
}

/// A built architecture: a `ModuleT`, plus what the training engine may ask of it.
pub trait Model: ModuleT {
    /// The plain MLP behind this model (no dropout, every layer with a bias), which the
    /// engine trains with its fused step (`train::fused`); `None` for everything else.
    fn as_plain_mlp(&self) -> Option<&mlp::Mlp> {
        None
    }
}

/// Builds `kind` under `p`. The model maps `[N, C, S, S]` images to `[N, classes]` logits.
pub fn build(p: &nn::Path, kind: ModelKind, cfg: &Config) -> Result<Box<dyn Model>> {
    cfg.validate(kind)?;
    Ok(match kind {
        ModelKind::Mlp1x512 => Box::new(mlp::Mlp::new(p, cfg, 1)),
        ModelKind::Mlp3x512 => Box::new(mlp::Mlp::new(p, cfg, 3)),
        ModelKind::Alexnet => Box::new(alexnet::AlexNet::new(p, cfg)),
        ModelKind::Inception => Box::new(inception::Inception::new(p, cfg, true)),
        ModelKind::InceptionNobn => Box::new(inception::Inception::new(p, cfg, false)),
        ModelKind::Resnet18 => Box::new(resnet::ResNet18::new(p, cfg)),
    })
}

/// `t` with channels-last strides when it is 4-D (`[N, C, H, W]` laid out as NHWC), which
/// ATen's convolutions (oneDNN on CPU, cuDNN on GPU) then run in that layout; other tensors
/// are returned as they are. The values and the shape do not change.
pub fn channels_last(t: &Tensor) -> Tensor {
    if t.dim() == 4 {
        t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        t.shallow_clone()
    }
}

/// Gives every 4-D variable of `vs` (the convolution weights) channels-last strides, in
/// place: the model and any optimizer built on `vs` see the new layout.
pub fn use_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                v.set_data(&channels_last(&v));
            }
        }
    });
}

/// Whether `t` is 4-D and dense in NHWC order, by ATen's rule: dimensions of size 1 do not
/// count, so a 1×1 kernel is laid out both ways at once.
pub fn is_channels_last(t: &Tensor) -> bool {
    if t.dim() != 4 {
        return false;
    }
    let (z, st) = (t.size(), t.stride());
    let mut expected = 1;
    for d in [1, 3, 2, 0] {
        if z[d] != 1 {
            if st[d] != expected {
                return false;
            }
            expected *= z[d];
        }
    }
    true
}

/// The number of trainable parameters (batch norm running statistics are not parameters).
pub fn param_count(kind: ModelKind, cfg: &Config) -> Result<i64> {
    let vs = nn::VarStore::new(tch::Device::Cpu);
    build(&vs.root(), kind, cfg)?;
    Ok(vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn count(kind: ModelKind, c: i64, s: i64) -> i64 {
        param_count(kind, &Config::new(c, s, 10)).unwrap()
    }

    /// Table 1 of the paper (parameter column), on 3×28×28; ResNet18 on 3×32×32.
    #[test]
    fn parameter_counts_match_table_1() {
        assert_eq!(count(ModelKind::Mlp1x512, 3, 28), 1_209_866);
        assert_eq!(count(ModelKind::Mlp3x512, 3, 28), 1_735_178);
        assert_eq!(count(ModelKind::Alexnet, 3, 28), 1_387_786);
        assert_eq!(count(ModelKind::Inception, 3, 28), 1_649_402);
        assert_eq!(count(ModelKind::InceptionNobn, 3, 28), 1_649_402);
        assert_eq!(count(ModelKind::Resnet18, 3, 32), 11_173_962);
    }

    /// The AlexNet/ResNet18 grid runs ResNet18 on Fashion-MNIST's 1×28×28: only the stem's 3×3
    /// convolution sees the input channels (64 × 2 × 9 = 1,152 fewer weights), and global
    /// average pooling makes the count independent of the image size.
    #[test]
    fn resnet18_on_fashion_mnist_has_11_172_810_parameters() {
        assert_eq!(count(ModelKind::Resnet18, 1, 28), 11_172_810);
        assert_eq!(
            count(ModelKind::Resnet18, 3, 32) - count(ModelKind::Resnet18, 1, 28),
            1_152
        );
    }

    /// ResNet18's dropout (the grid's `-dropout` presets) sits before its final linear
    /// layer: with rate 0.9999 in train mode the logits are the final
    /// layer's bias alone for almost every example, and in eval mode dropout is off.
    #[test]
    fn resnet18_dropout_is_before_the_final_linear_layer() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = Config {
            dropout: 0.9999,
            ..Config::new(1, 28, 10)
        };
        let m = build(&vs.root(), ModelKind::Resnet18, &cfg).unwrap();
        let x = Tensor::randn([8, 1, 28, 28], (Kind::Float, Device::Cpu));
        let bias = vs.variables()["fc.bias"].shallow_clone();
        let dropped = tch::no_grad(|| m.forward_t(&x, true));
        let rows_equal_bias = (0..8)
            .filter(|&i| dropped.get(i).allclose(&bias, 0.0, 0.0, false))
            .count();
        assert!(
            rows_equal_bias >= 6,
            "{rows_equal_bias} of 8 rows are the bias alone"
        );
        let kept = tch::no_grad(|| m.forward_t(&x, false));
        assert!(!kept.get(0).allclose(&bias, 1e-3, 1e-3, false));
    }

    #[test]
    fn every_model_maps_every_input_shape_to_logits() {
        let _guard = tch::no_grad_guard();
        for &kind in ModelKind::all() {
            for (c, s) in [(1, 28), (3, 28), (3, 32)] {
                tch::manual_seed(0);
                let vs = nn::VarStore::new(Device::Cpu);
                let m = build(&vs.root(), kind, &Config::new(c, s, 10)).unwrap();
                let x = Tensor::randn([3, c, s, s], (Kind::Float, Device::Cpu));
                for train in [true, false] {
                    let y = m.forward_t(&x, train);
                    assert_eq!(y.size(), [3, 10], "{kind} on {c}x{s}x{s}, train={train}");
                    assert!(bool::try_from(y.isfinite().all()).unwrap());
                }
            }
        }
    }

    #[test]
    fn batch_norm_statistics_change_only_in_train_mode() {
        let _guard = tch::no_grad_guard();
        for kind in [ModelKind::Inception, ModelKind::Resnet18] {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = build(&vs.root(), kind, &Config::new(3, 28, 10)).unwrap();
            let stats = || -> Vec<(String, Tensor)> {
                let mut v: Vec<_> = vs
                    .variables()
                    .into_iter()
                    .filter(|(n, _)| n.ends_with("running_mean") || n.ends_with("running_var"))
                    .map(|(n, t)| (n, t.copy()))
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0)); // variables() is a HashMap: fix the order
                v
            };
            let before = stats();
            assert!(!before.is_empty(), "{kind} has no batch norm statistics");
            let x = Tensor::randn([4, 3, 28, 28], (Kind::Float, Device::Cpu)) * 3.0 + 1.0;
            let _ = m.forward_t(&x, false);
            assert!(
                before.iter().zip(stats()).all(|(a, b)| a.1.equal(&b.1)),
                "{kind}: eval changed stats"
            );
            let _ = m.forward_t(&x, true);
            // Every batch norm layer's statistics move in train mode.
            assert!(
                before.iter().zip(stats()).all(|(a, b)| !a.1.equal(&b.1)),
                "{kind}: train kept stats"
            );
        }
        // Without batch norm there is nothing to update.
        let vs = nn::VarStore::new(Device::Cpu);
        build(
            &vs.root(),
            ModelKind::InceptionNobn,
            &Config::new(3, 28, 10),
        )
        .unwrap();
        assert!(vs.variables().keys().all(|n| !n.contains("running_")));
    }

    #[test]
    fn dropout_is_active_only_in_train_mode() {
        let _guard = tch::no_grad_guard();
        for &kind in ModelKind::all() {
            let vs = nn::VarStore::new(Device::Cpu);
            let cfg = Config {
                dropout: 0.5,
                ..Config::new(3, 28, 10)
            };
            let m = build(&vs.root(), kind, &cfg).unwrap();
            let x = Tensor::randn([4, 3, 28, 28], (Kind::Float, Device::Cpu));
            // Batch norm in train mode would also differ between calls only through dropout,
            // since the batch is the same; eval mode must be exactly repeatable.
            let (a, b) = (m.forward_t(&x, true), m.forward_t(&x, true));
            assert!(!a.equal(&b), "{kind}: dropout inactive in train mode");
            let (a, b) = (m.forward_t(&x, false), m.forward_t(&x, false));
            assert!(a.equal(&b), "{kind}: eval mode is not deterministic");
        }
    }

    #[test]
    fn without_dropout_train_mode_is_repeatable_for_models_without_batch_norm() {
        let _guard = tch::no_grad_guard();
        for kind in [
            ModelKind::Mlp1x512,
            ModelKind::Alexnet,
            ModelKind::InceptionNobn,
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = build(&vs.root(), kind, &Config::new(3, 28, 10)).unwrap();
            let x = Tensor::randn([4, 3, 28, 28], (Kind::Float, Device::Cpu));
            assert!(
                m.forward_t(&x, true).equal(&m.forward_t(&x, true)),
                "{kind}"
            );
        }
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let e = Config::new(3, 5, 10)
            .validate(ModelKind::Inception)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid image_size: inception needs inputs of at least 7x7, got 5x5"
        );
        let cfg = Config {
            dropout: 1.0,
            ..Config::new(3, 28, 10)
        };
        assert!(cfg
            .validate(ModelKind::Mlp1x512)
            .unwrap_err()
            .to_string()
            .starts_with("invalid dropout"));
        assert!("vgg"
            .parse::<ModelKind>()
            .unwrap_err()
            .to_string()
            .starts_with("invalid model: unknown model"));
    }
}
