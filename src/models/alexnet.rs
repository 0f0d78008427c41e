//! The small AlexNet of Zhang et al. 2017 (Appendix A, Table 1: 1,387,786 parameters on
//! 3×28×28): two blocks of conv 5×5×64 (SAME padding) + ReLU, max-pool 3×3 stride 2
//! (padding 1), local response normalization; then FC 384, FC 192 and FC classes.
use super::lrn::{Lrn, LrnConfig};
use super::Config;
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Debug)]
pub struct AlexNet {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    fc3: nn::Linear,
    lrn1: Lrn,
    lrn2: Lrn,
    dropout: f64,
}

/// Spatial size after a 3×3 stride-2 max-pool with padding 1.
fn pooled(s: i64) -> i64 {
    (s + 2 - 3) / 2 + 1
}

impl AlexNet {
    /// Dropout, when on, goes before FC 384 and FC 192 (every FC layer but the last).
    pub fn new(p: &nn::Path, cfg: &Config) -> Self {
        let conv = nn::ConvConfig {
            padding: 2,
            ..Default::default()
        };
        let s = pooled(pooled(cfg.image_size));
        AlexNet {
            conv1: nn::conv2d(p / "conv1", cfg.in_channels, 64, 5, conv),
            conv2: nn::conv2d(p / "conv2", 64, 64, 5, conv),
            fc1: nn::linear(p / "fc1", 64 * s * s, 384, Default::default()),
            fc2: nn::linear(p / "fc2", 384, 192, Default::default()),
            fc3: nn::linear(p / "fc3", 192, cfg.classes, Default::default()),
            lrn1: Lrn::new(64, LrnConfig::default(), p.device()),
            lrn2: Lrn::new(64, LrnConfig::default(), p.device()),
            dropout: cfg.dropout,
        }
    }

    fn block(x: &Tensor, conv: &nn::Conv2D, lrn: &Lrn) -> Tensor {
        let x = x.apply(conv).relu_(); // [N, 64, S, S]
        let x = x.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false); // [N, 64, ceil(S/2), ceil(S/2)]
        lrn.forward(&x)
    }
}

impl super::Model for AlexNet {}

impl ModuleT for AlexNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x = Self::block(xs, &self.conv1, &self.lrn1); // [N, 64, 14, 14] on 28×28
        let x = Self::block(&x, &self.conv2, &self.lrn2); // [N, 64, 7, 7]
        let x = x.flatten(1, -1); // [N, 3136]
        let x = x.dropout(self.dropout, train).apply(&self.fc1).relu_(); // [N, 384]
        let x = x.dropout(self.dropout, train).apply(&self.fc2).relu_(); // [N, 192]
        x.apply(&self.fc3) // [N, classes]
    }
}
