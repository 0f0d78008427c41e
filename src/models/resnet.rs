//! ResNet18 in its CIFAR form (He et al. 2016, as used for CIFAR-10 by Zhang et al. 2017):
//! a 3×3 stride-1 stem without max-pool, BasicBlocks [2, 2, 2, 2] with 64, 128, 256 and 512
//! channels, global average pooling and a linear layer. 11,173,962 parameters on 3×32×32.
use super::Config;
use tch::nn::{self, ModuleT};
use tch::Tensor;

fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

#[derive(Debug)]
struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    /// A 1×1 conv + BN when the shape changes.
    shortcut: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl BasicBlock {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, stride: i64) -> Self {
        let shortcut = (stride != 1 || c_in != c_out).then(|| {
            (
                conv(p / "shortcut_conv", c_in, c_out, 1, stride),
                nn::batch_norm2d(p / "shortcut_bn", c_out, Default::default()),
            )
        });
        BasicBlock {
            conv1: conv(p / "conv1", c_in, c_out, 3, stride),
            bn1: nn::batch_norm2d(p / "bn1", c_out, Default::default()),
            conv2: conv(p / "conv2", c_out, c_out, 3, 1),
            bn2: nn::batch_norm2d(p / "bn2", c_out, Default::default()),
            shortcut,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply(&self.conv1).apply_t(&self.bn1, train).relu_();
        let y = y.apply(&self.conv2).apply_t(&self.bn2, train);
        let s = match &self.shortcut {
            Some((c, bn)) => x.apply(c).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (y + s).relu_()
    }
}

#[derive(Debug)]
pub struct ResNet18 {
    stem: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    blocks: Vec<BasicBlock>,
    fc: nn::Linear,
    dropout: f64,
}

impl ResNet18 {
    /// Dropout, when on, goes before the final linear layer.
    pub fn new(p: &nn::Path, cfg: &Config) -> Self {
        let mut blocks = Vec::new();
        let mut c = 64;
        for (stage, &width) in [64i64, 128, 256, 512].iter().enumerate() {
            for i in 0..2 {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(
                    &(p / format!("layer{}_{}", stage + 1, i)),
                    c,
                    width,
                    stride,
                ));
                c = width;
            }
        }
        ResNet18 {
            stem: conv(p / "conv1", cfg.in_channels, 64, 3, 1),
            stem_bn: nn::batch_norm2d(p / "bn1", 64, Default::default()),
            blocks,
            fc: nn::linear(p / "fc", 512, cfg.classes, Default::default()),
            dropout: cfg.dropout,
        }
    }
}

impl super::Model for ResNet18 {}

impl ModuleT for ResNet18 {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem).apply_t(&self.stem_bn, train).relu_(); // [N, 64, S, S]
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        } // [N, 512, S/8, S/8]
        let x = x.adaptive_avg_pool2d([1, 1]).flatten(1, -1); // [N, 512]
        x.dropout(self.dropout, train).apply(&self.fc) // [N, classes]
    }
}
