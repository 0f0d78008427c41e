//! Local response normalization across channels, as in AlexNet and TensorFlow's cifar10
//! model (Zhang et al. 2017 use it in their small AlexNet).
//!
//! Same formula as PyTorch's `nn.LocalResponseNorm(size, alpha, beta, k)`:
//! `b_c = a_c / (k + alpha/size · Σ_{c' in window(c)} a_c'^2)^beta`, the window being
//! `size` channels centred on `c` (zero-padded at the edges).
use tch::Tensor;

/// LRN parameters; the default is size 5, alpha 1e-4, beta 0.75, k 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lrn {
    pub size: i64,
    pub alpha: f64,
    pub beta: f64,
    pub k: f64,
}

impl Default for Lrn {
    fn default() -> Self {
        Lrn {
            size: 5,
            alpha: 1e-4,
            beta: 0.75,
            k: 2.0,
        }
    }
}

impl Lrn {
    /// `[N, C, H, W] -> [N, C, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let sq = (x * x).unsqueeze(1); // [N, 1, C, H, W]
        let sq = sq.constant_pad_nd([0, 0, 0, 0, self.size / 2, (self.size - 1) / 2]);
        // The average over the channel window, so that alpha * avg = alpha/size * sum.
        let avg = sq
            .avg_pool3d(
                [self.size, 1, 1],
                [1, 1, 1],
                [0, 0, 0],
                false,
                true,
                None::<i64>,
            )
            .squeeze_dim(1); // [N, C, H, W]
        x / (avg * self.alpha + self.k).pow_tensor_scalar(self.beta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn matches_the_direct_formula() {
        let lrn = Lrn {
            alpha: 0.3, // large, so that the normalization visibly matters
            ..Lrn::default()
        };
        let (n, c, h, w) = (2i64, 7i64, 3i64, 2i64);
        let x = Tensor::randn([n, c, h, w], (Kind::Double, Device::Cpu));
        let got = lrn.forward(&x);
        let xs = Vec::<f64>::try_from(x.reshape([-1])).unwrap();
        let at = |b: i64, ch: i64, i: i64, j: i64| xs[(((b * c + ch) * h + i) * w + j) as usize];
        let mut max_err: f64 = 0.0;
        for b in 0..n {
            for ch in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        let lo = (ch - lrn.size / 2).max(0);
                        let hi = (ch + (lrn.size - 1) / 2).min(c - 1);
                        let sum: f64 = (lo..=hi).map(|cc| at(b, cc, i, j).powi(2)).sum();
                        let want = at(b, ch, i, j)
                            / (lrn.k + lrn.alpha / lrn.size as f64 * sum).powf(lrn.beta);
                        max_err = max_err.max((got.double_value(&[b, ch, i, j]) - want).abs());
                    }
                }
            }
        }
        assert!(max_err < 1e-12, "max error {max_err}");
    }
}
