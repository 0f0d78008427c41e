//! The paper's preprocessing (Appendix A), batched on the tensors' device.
//!
//! Images are `[N, C, H, W]` float tensors with pixels in [0, 1]. CIFAR-10 is center-cropped
//! from 32×32 to 28×28 for evaluation; augmentation takes a random 28×28 crop and flips
//! horizontally with probability 1/2; then each image is whitened. All randomness comes from
//! the caller's seeded RNG (never tch's thread_rng-based `vision::dataset::augmentation`).
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// How pixel values are normalized before they reach the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// Pixels as they are, in [0, 1].
    Unit,
    /// Subtract the training set's per-channel mean and divide by its std.
    Standardize,
    /// Per image: subtract its mean, divide by max(std, 1/sqrt(pixels)) (the paper's CIFAR setup).
    Whiten,
}

/// The center `size`×`size` crop. `[N, C, H, W] -> [N, C, size, size]`.
pub fn center_crop(x: &Tensor, size: i64) -> Tensor {
    let (h, w) = (x.size()[2], x.size()[3]);
    assert!(size <= h && size <= w, "crop {size} larger than {h}x{w}");
    x.narrow(2, (h - size) / 2, size)
        .narrow(3, (w - size) / 2, size)
}

/// Per-image whitening, as TensorFlow's `per_image_standardization`:
/// `(x - mean) / max(std, 1 / sqrt(C·H·W))`, with the population std.
pub fn whiten(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let flat = x.reshape([n, -1]);
    let pixels = flat.size()[1] as f64;
    let mean = flat.mean_dim(1, true, Kind::Float);
    let std = flat.std_dim(1, false, true).clamp_min(1.0 / pixels.sqrt());
    ((flat - mean) / std).reshape(x.size())
}

/// `(x - mean[c]) / std[c]` per channel.
pub fn standardize(x: &Tensor, mean: &[f64], std: &[f64]) -> Tensor {
    let c = mean.len() as i64;
    let opts = (Kind::Float, x.device());
    let m = Tensor::from_slice(mean)
        .to_kind(opts.0)
        .to_device(opts.1)
        .reshape([1, c, 1, 1]);
    let s = Tensor::from_slice(std)
        .to_kind(opts.0)
        .to_device(opts.1)
        .reshape([1, c, 1, 1]);
    (x - m) / s
}

/// Applies a normalization; `stats` are the training set's per-channel (mean, std).
pub fn normalize(x: &Tensor, norm: Normalization, stats: &(Vec<f64>, Vec<f64>)) -> Tensor {
    match norm {
        Normalization::Unit => x.shallow_clone(),
        Normalization::Standardize => standardize(x, &stats.0, &stats.1),
        Normalization::Whiten => whiten(x),
    }
}

/// A random `size`×`size` crop of each image, after zero-padding by `pad` on every side,
/// then a horizontal flip with probability 1/2. Offsets and flips come from `rng`, so the
/// result is a pure function of the input and the RNG state. `[N,C,H,W] -> [N,C,size,size]`.
pub fn random_crop_flip(x: &Tensor, size: i64, pad: i64, rng: &mut impl Rng) -> Tensor {
    let dev = x.device();
    let x = if pad > 0 {
        x.constant_pad_nd([pad, pad, pad, pad])
    } else {
        x.shallow_clone()
    };
    let (n, c, h, w) = x.size4().expect("images are [N, C, H, W]");
    assert!(
        size <= h && size <= w,
        "crop {size} larger than padded {h}x{w}"
    );
    let oy: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=h - size)).collect();
    let ox: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=w - size)).collect();
    let flip: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
    let ar = Tensor::arange(size, (Kind::Int64, dev));
    // rows[b, i] = oy[b] + i; [N, size] broadcast to [N, C, size, W] for a gather along H.
    let rows = Tensor::from_slice(&oy).to_device(dev).unsqueeze(1) + &ar;
    let rows = rows.view([n, 1, size, 1]).expand([n, c, size, w], false);
    let x = x.gather(2, &rows, false); // [N, C, size, W]
                                       // cols[b, j] = ox[b] + j, or ox[b] + size - 1 - j when flipped.
    let flip_t = Tensor::from_slice(&flip).to_device(dev).unsqueeze(1);
    let j = ar
        .flip([0])
        .unsqueeze(0)
        .where_self(&flip_t, &ar.unsqueeze(0));
    let cols = Tensor::from_slice(&ox).to_device(dev).unsqueeze(1) + j;
    let cols = cols.view([n, 1, 1, size]).expand([n, c, size, size], false);
    x.gather(3, &cols, false) // [N, C, size, size]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn images(n: i64, c: i64, h: i64) -> Tensor {
        Tensor::arange(n * c * h * h, (Kind::Float, tch::Device::Cpu)).reshape([n, c, h, h])
            / 1000.0
    }

    #[test]
    fn center_crop_takes_the_middle() {
        let x = images(2, 3, 32);
        let y = center_crop(&x, 28);
        assert_eq!(y.size(), [2, 3, 28, 28]);
        assert_eq!(y.double_value(&[1, 2, 0, 0]), x.double_value(&[1, 2, 2, 2]));
    }

    #[test]
    fn whitening_gives_zero_mean_unit_std_and_guards_flat_images() {
        // Spread 0.55 per image: its std (0.55) is above the 1/sqrt(192) guard.
        let x = images(3, 3, 8) * 10.0;
        let y = whiten(&x).reshape([3, -1]);
        for i in 0..3 {
            let row = y.get(i);
            assert!(row.mean(Kind::Float).double_value(&[]).abs() < 1e-5);
            assert!((row.std(false).double_value(&[]) - 1.0).abs() < 1e-4);
        }
        let flat = Tensor::full([1, 1, 4, 4], 0.5, (Kind::Float, tch::Device::Cpu));
        assert_eq!(whiten(&flat).abs().max().double_value(&[]), 0.0);
    }

    #[test]
    fn random_crop_flip_is_seeded_and_takes_true_crops() {
        let x = images(16, 3, 32);
        let a = random_crop_flip(&x, 28, 0, &mut ChaCha8Rng::seed_from_u64(1));
        let b = random_crop_flip(&x, 28, 0, &mut ChaCha8Rng::seed_from_u64(1));
        let c = random_crop_flip(&x, 28, 0, &mut ChaCha8Rng::seed_from_u64(2));
        assert_eq!(a.size(), [16, 3, 28, 28]);
        assert!(a.equal(&b));
        assert!(!a.equal(&c));
        // Each output image equals some crop of its input, possibly flipped.
        for i in 0..16 {
            let out = a.get(i);
            let found = (0..=4).any(|oy| {
                (0..=4).any(|ox| {
                    let crop = x.get(i).narrow(1, oy, 28).narrow(2, ox, 28);
                    out.equal(&crop) || out.equal(&crop.flip([2]))
                })
            });
            assert!(found, "image {i} is not a crop of its input");
        }
        // Padding keeps the size and pads with zeros.
        let p = random_crop_flip(&images(4, 1, 28), 28, 2, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(p.size(), [4, 1, 28, 28]);
    }
}
