//! The data as the training loop feeds it: inputs preprocessed once for evaluation, and
//! each batch's augmentation drawn per epoch.
use super::*;

/// Inputs ready for the model: preprocessed once for evaluation, and per batch when augmenting.
#[derive(Debug)]
pub struct Prepared {
    /// Training images as stored (before crop and normalization), for augmentation.
    train_raw: Tensor,
    /// Evaluation-mode training inputs `[N, C, S, S]`.
    pub train_x: Tensor,
    pub train_y: Tensor,
    pub test_x: Tensor,
    pub test_y: Tensor,
    /// 1 where the training label was changed by the randomization, on the device.
    pub(super) corrupted: Option<Tensor>,
    crop: i64,
    pad: i64,
    norm: Normalization,
    stats: (Vec<f64>, Vec<f64>),
}

/// How inputs are preprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    pub normalization: Normalization,
    /// The side of the model's input: a center crop for evaluation and a random crop when
    /// augmenting. `None` keeps the stored size.
    #[serde(default)]
    pub crop: Option<i64>,
    /// Zero padding added before the random crop when augmenting.
    #[serde(default)]
    pub augment_pad: i64,
}

impl Prepared {
    /// Preprocesses randomized splits. `corrupted[i]` marks training labels that changed.
    pub fn new(r: &randomize::Randomized, pre: &Preprocess) -> Result<Self> {
        let (_, _, h, w) = r.train.images.size4()?;
        let crop = pre.crop.unwrap_or(h.min(w));
        if crop < 1 || crop > h.min(w) {
            return Err(Error::config(
                "crop",
                format!("{crop} does not fit {h}x{w} images"),
            ));
        }
        let stats = crate::data::channel_stats(&r.train.images);
        let eval = |x: &Tensor| {
            transform::normalize(&transform::center_crop(x, crop), pre.normalization, &stats)
        };
        let device = r.train.images.device();
        let corrupted = r.corrupted.iter().any(|&c| c).then(|| {
            let v: Vec<u8> = r.corrupted.iter().map(|&c| c as u8).collect();
            Tensor::from_slice(&v).to_kind(Kind::Bool).to_device(device)
        });
        Ok(Prepared {
            train_raw: r.train.images.shallow_clone(),
            train_x: eval(&r.train.images),
            train_y: r.train.labels.shallow_clone(),
            test_x: eval(&r.test.images),
            test_y: r.test.labels.shallow_clone(),
            corrupted,
            crop,
            pad: pre.augment_pad,
            norm: pre.normalization,
            stats,
        })
    }

    /// The model's input shape `(channels, side)`.
    pub fn input_shape(&self) -> (i64, i64) {
        (self.train_x.size()[1], self.crop)
    }

    pub fn train_len(&self) -> i64 {
        self.train_y.size()[0]
    }

    /// A training batch for `idx`: augmented (random crop + flip, then normalization) with
    /// the batch's `draws` when given, else taken from the preprocessed set.
    pub fn batch(&self, idx: &Tensor, draws: Option<&CropFlip>) -> (Tensor, Tensor) {
        let y = self.train_y.index_select(0, idx);
        let x = match draws {
            Some(d) => {
                let raw = self.train_raw.index_select(0, idx);
                let x = transform::crop_flip(&raw, self.crop, self.pad, d);
                transform::normalize(&x, self.norm, &self.stats)
            }
            None => self.train_x.index_select(0, idx),
        };
        (x, y)
    }

    /// An epoch's augmentation draws for batches of `batch_size` over all training images,
    /// made from `rng` batch by batch in the order training uses them (so the stream, and
    /// every seeded result, is what drawing per batch gave) and copied to the device once.
    pub fn epoch_draws(&self, batch_size: i64, rng: &mut impl Rng) -> CropFlip {
        let (n, _, h, w) = self.train_raw.size4().expect("images are [N, C, H, W]");
        let (h, w) = (h + 2 * self.pad, w + 2 * self.pad);
        let mut parts = Vec::new();
        let mut at = 0;
        while at < n {
            let len = batch_size.min(n - at);
            parts.push(CropFlip::draw(len, h, w, self.crop, rng));
            at += len;
        }
        CropFlip::cat(&parts).to_device(self.train_raw.device())
    }
}

/// `x` in channels-last layout when asked for, else as it is.
pub(super) fn in_layout(x: Tensor, channels_last: bool) -> Tensor {
    if channels_last {
        crate::models::channels_last(&x)
    } else {
        x
    }
}
