//! Local response normalization across channels, as in AlexNet and TensorFlow's cifar10
//! model (Zhang et al. 2017 use it in their small AlexNet).
//!
//! Same formula as PyTorch's `nn.LocalResponseNorm(size, alpha, beta, k)`:
//! `b_c = a_c / (k + alpha/size · Σ_{c' in window(c)} a_c'^2)^beta`, the window being
//! `size` channels centred on `c` (zero-padded at the edges).
//!
//! The window sum is a 1×1 convolution with a fixed banded C×C matrix (not a parameter):
//! on CPU it is about 3× faster than PyTorch's avg_pool3d formulation, with the same result.
use tch::{Device, Tensor};

/// LRN parameters; the default is size 5, alpha 1e-4, beta 0.75, k 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrnConfig {
    pub size: i64,
    pub alpha: f64,
    pub beta: f64,
    pub k: f64,
}

impl Default for LrnConfig {
    fn default() -> Self {
        LrnConfig {
            size: 5,
            alpha: 1e-4,
            beta: 0.75,
            k: 2.0,
        }
    }
}

/// LRN over a fixed number of channels.
#[derive(Debug)]
pub struct Lrn {
    cfg: LrnConfig,
    /// `[C, C, 1, 1]`: band[o, i] = 1 when channel i is in the window of channel o.
    band: Tensor,
}

impl Lrn {
    pub fn new(channels: i64, cfg: LrnConfig, device: Device) -> Self {
        let (lo, hi) = (cfg.size / 2, (cfg.size - 1) / 2);
        let band: Vec<f32> = (0..channels * channels)
            .map(|k| {
                let (o, i) = (k / channels, k % channels);
                f32::from(u8::from(i >= o - lo && i <= o + hi))
            })
            .collect();
        let band = Tensor::from_slice(&band)
            .view([channels, channels, 1, 1])
            .to_device(device);
        Lrn { cfg, band }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let band = self.band.to_kind(x.kind());
        let sum = (x * x).conv2d(&band, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1); // [N, C, H, W]
        let scale = (sum * (self.cfg.alpha / self.cfg.size as f64) + self.cfg.k)
            .pow_tensor_scalar(self.cfg.beta);
        x / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn matches_the_direct_formula() {
        let cfg = LrnConfig {
            alpha: 0.3, // large, so that the normalization visibly matters
            ..LrnConfig::default()
        };
        let (n, c, h, w) = (2i64, 7i64, 3i64, 2i64);
        let lrn = Lrn::new(c, cfg, Device::Cpu);
        let x = Tensor::randn([n, c, h, w], (Kind::Double, Device::Cpu));
        let got = lrn.forward(&x);
        let xs = Vec::<f64>::try_from(x.reshape([-1])).unwrap();
        let at = |b: i64, ch: i64, i: i64, j: i64| xs[(((b * c + ch) * h + i) * w + j) as usize];
        let mut max_err: f64 = 0.0;
        for b in 0..n {
            for ch in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        let lo = (ch - cfg.size / 2).max(0);
                        let hi = (ch + (cfg.size - 1) / 2).min(c - 1);
                        let sum: f64 = (lo..=hi).map(|cc| at(b, cc, i, j).powi(2)).sum();
                        let want = at(b, ch, i, j)
                            / (cfg.k + cfg.alpha / cfg.size as f64 * sum).powf(cfg.beta);
                        max_err = max_err.max((got.double_value(&[b, ch, i, j]) - want).abs());
                    }
                }
            }
        }
        assert!(max_err < 1e-12, "max error {max_err}");
    }
}
