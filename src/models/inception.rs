//! The small Inception of Zhang et al. 2017 (Appendix A, Figure 3; Table 1: 1,649,402
//! parameters on 3×28×28), with and without batch norm.
//!
//! Conv(96, 3×3) → Inc(32,32) → Inc(32,48) → Down(80) → Inc(112,48) → Inc(96,64) →
//! Inc(80,80) → Inc(48,96) → Down(96) → Inc(176,160) → Inc(176,160) → global mean pool → FC.
//! A conv module is conv (with bias, SAME padding) → batch norm (no learnable affine) → ReLU.
//! Inc(a, b) concatenates a 1×1 conv module with `a` channels and a 3×3 one with `b`.
//! Down(c) concatenates a 3×3 stride-2 conv module with `c` channels and a 3×3 stride-2
//! max-pool, both without padding.
use super::Config;
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Debug)]
struct ConvModule {
    conv: nn::Conv2D,
    bn: Option<nn::BatchNorm>,
}

impl ConvModule {
    fn new(
        p: &nn::Path,
        c_in: i64,
        c_out: i64,
        k: i64,
        stride: i64,
        padding: i64,
        bn: bool,
    ) -> Self {
        let cfg = nn::ConvConfig {
            stride,
            padding,
            ..Default::default()
        };
        let bn_cfg = nn::BatchNormConfig {
            affine: false,
            ..Default::default()
        };
        ConvModule {
            conv: nn::conv2d(p / "conv", c_in, c_out, k, cfg),
            bn: bn.then(|| nn::batch_norm2d(p / "bn", c_out, bn_cfg)),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        // ReLU in place: neither the convolution nor batch norm needs its output for backward.
        let mut x = x.apply(&self.conv);
        match &self.bn {
            Some(bn) => x.apply_t(bn, train).relu_(),
            None => x.relu_(),
        }
    }
}

// Ten blocks per network: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Block {
    /// 1×1 and 3×3 conv modules, concatenated: `[N, C, S, S] -> [N, a + b, S, S]`.
    Inc(ConvModule, ConvModule),
    /// 3×3 stride-2 conv module and max-pool: `[N, C, S, S] -> [N, c + C, (S-3)/2+1, ..]`.
    Down(ConvModule),
}

#[derive(Debug)]
pub struct Inception {
    stem: ConvModule,
    blocks: Vec<Block>,
    fc: nn::Linear,
    dropout: f64,
}

enum Spec {
    Inc(i64, i64),
    Down(i64),
}

const SPECS: [Spec; 10] = [
    Spec::Inc(32, 32),
    Spec::Inc(32, 48),
    Spec::Down(80),
    Spec::Inc(112, 48),
    Spec::Inc(96, 64),
    Spec::Inc(80, 80),
    Spec::Inc(48, 96),
    Spec::Down(96),
    Spec::Inc(176, 160),
    Spec::Inc(176, 160),
];

impl Inception {
    /// `batch_norm = false` gives "Inception w/o BatchNorm" (same parameter count, since the
    /// batch norm has no affine parameters). Dropout, when on, goes before the final layer.
    pub fn new(p: &nn::Path, cfg: &Config, batch_norm: bool) -> Self {
        let stem = ConvModule::new(&(p / "stem"), cfg.in_channels, 96, 3, 1, 1, batch_norm);
        let mut c = 96;
        let mut blocks = Vec::new();
        for (i, spec) in SPECS.iter().enumerate() {
            let q = p / format!("block{}", i + 1);
            match *spec {
                Spec::Inc(a, b) => {
                    blocks.push(Block::Inc(
                        ConvModule::new(&(&q / "b1x1"), c, a, 1, 1, 0, batch_norm),
                        ConvModule::new(&(&q / "b3x3"), c, b, 3, 1, 1, batch_norm),
                    ));
                    c = a + b;
                }
                Spec::Down(d) => {
                    blocks.push(Block::Down(ConvModule::new(
                        &(&q / "conv"),
                        c,
                        d,
                        3,
                        2,
                        0,
                        batch_norm,
                    )));
                    c += d;
                }
            }
        }
        Inception {
            stem,
            blocks,
            fc: nn::linear(p / "fc", c, cfg.classes, Default::default()),
            dropout: cfg.dropout,
        }
    }
}

impl super::Model for Inception {}

impl ModuleT for Inception {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = self.stem.forward_t(xs, train); // [N, 96, S, S]
        for block in &self.blocks {
            x = match block {
                Block::Inc(a, b) => {
                    Tensor::cat(&[a.forward_t(&x, train), b.forward_t(&x, train)], 1)
                }
                Block::Down(conv) => {
                    let pool = x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false);
                    Tensor::cat(&[conv.forward_t(&x, train), pool], 1)
                }
            };
        } // [N, 336, 6, 6] on 28×28
        let x = x.mean_dim([2i64, 3].as_slice(), false, tch::Kind::Float); // [N, 336]
        x.dropout(self.dropout, train).apply(&self.fc) // [N, classes]
    }
}
