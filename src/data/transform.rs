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
    let (n, _, h, w) = x.size4().expect("images are [N, C, H, W]");
    let draws = CropFlip::draw(n, h + 2 * pad, w + 2 * pad, size, rng).to_device(x.device());
    crop_flip(x, size, pad, &draws)
}

/// The random draws of a crop and flip, one per image: the crop's top row and left column
/// in the padded image, and whether to flip. A batch's draws are made in that order (every
/// row, then every column, then every flip) from the seeded stream.
#[derive(Debug)]
pub struct CropFlip {
    /// `[3, N]` int64: rows, columns, flips (0 or 1).
    draws: Tensor,
}

impl CropFlip {
    /// Draws for `n` images padded to `h`×`w`, cropped to `size`.
    pub fn draw(n: i64, h: i64, w: i64, size: i64, rng: &mut impl Rng) -> CropFlip {
        assert!(
            size <= h && size <= w,
            "crop {size} larger than padded {h}x{w}"
        );
        let mut v: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=h - size)).collect();
        v.extend((0..n).map(|_| rng.gen_range(0..=w - size)));
        v.extend((0..n).map(|_| i64::from(rng.gen_bool(0.5))));
        CropFlip {
            draws: Tensor::from_slice(&v).view([3, n]),
        }
    }

    /// Several batches' draws side by side, in order: one copy to the device for them all.
    pub fn cat(parts: &[CropFlip]) -> CropFlip {
        let t: Vec<&Tensor> = parts.iter().map(|p| &p.draws).collect();
        CropFlip {
            draws: Tensor::cat(&t, 1),
        }
    }

    pub fn to_device(&self, device: tch::Device) -> CropFlip {
        CropFlip {
            draws: self.draws.to_device(device),
        }
    }

    /// The draws of images `start..start + len` (a view: no copy).
    pub fn narrow(&self, start: i64, len: i64) -> CropFlip {
        CropFlip {
            draws: self.draws.narrow(1, start, len),
        }
    }
}

/// [`random_crop_flip`] with its draws given (on the images' device). Every step is a device
/// operation.
pub fn crop_flip(x: &Tensor, size: i64, pad: i64, d: &CropFlip) -> Tensor {
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
    assert_eq!(d.draws.size(), [3, n], "one draw per image");
    let ar = Tensor::arange(size, (Kind::Int64, dev));
    // rows[b, i] = oy[b] + i; [N, size] broadcast to [N, C, size, W] for a gather along H.
    let rows = d.draws.get(0).unsqueeze(1) + &ar;
    let rows = rows.view([n, 1, size, 1]).expand([n, c, size, w], false);
    let x = x.gather(2, &rows, false); // [N, C, size, W]
                                       // cols[b, j] = ox[b] + j, or ox[b] + size - 1 - j when flipped.
    let flip = d.draws.get(2).eq(1).unsqueeze(1);
    let j = ar
        .flip([0])
        .unsqueeze(0)
        .where_self(&flip, &ar.unsqueeze(0));
    let cols = d.draws.get(1).unsqueeze(1) + j;
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

    /// The per-batch augmentation as a reference (host draws, three host-to-device copies
    /// per batch) that the batched one must match.
    fn per_batch_reference(x: &Tensor, size: i64, pad: i64, rng: &mut impl Rng) -> Tensor {
        let x = x.constant_pad_nd([pad, pad, pad, pad]);
        let (n, c, h, w) = x.size4().unwrap();
        let oy: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=h - size)).collect();
        let ox: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=w - size)).collect();
        let flip: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
        let ar = Tensor::arange(size, (Kind::Int64, x.device()));
        let rows = (Tensor::from_slice(&oy).unsqueeze(1) + &ar)
            .view([n, 1, size, 1])
            .expand([n, c, size, w], false);
        let x = x.gather(2, &rows, false);
        let flip_t = Tensor::from_slice(&flip).unsqueeze(1);
        let j = ar
            .flip([0])
            .unsqueeze(0)
            .where_self(&flip_t, &ar.unsqueeze(0));
        let cols = (Tensor::from_slice(&ox).unsqueeze(1) + j)
            .view([n, 1, 1, size])
            .expand([n, c, size, size], false);
        x.gather(3, &cols, false)
    }

    /// An epoch's draws made at once, in batch order, give every batch exactly what drawing
    /// per batch gave, and leave the stream where it left it.
    #[test]
    fn epoch_draws_give_the_per_batch_results() {
        let x = images(13, 3, 28);
        let (mut once, mut per) = (ChaCha8Rng::seed_from_u64(7), ChaCha8Rng::seed_from_u64(7));
        let sizes = [5, 5, 3];
        let parts: Vec<CropFlip> = sizes
            .iter()
            .map(|&len| CropFlip::draw(len, 32, 32, 28, &mut once))
            .collect();
        let epoch = CropFlip::cat(&parts);
        let mut at = 0;
        for len in sizes {
            let batch = x.narrow(0, at, len);
            let ours = crop_flip(&batch, 28, 2, &epoch.narrow(at, len));
            assert!(ours.equal(&per_batch_reference(&batch, 28, 2, &mut per)));
            at += len;
        }
        assert_eq!(once.get_word_pos(), per.get_word_pos());
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
