//! Multi-layer perceptrons "MLP 1x512" and "MLP 3x512" of Zhang et al. 2017, Table 1:
//! flatten, then hidden ReLU layers of 512 units, then a linear layer to the classes.
use super::Config;
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Debug)]
pub struct Mlp {
    hidden: Vec<nn::Linear>,
    out: nn::Linear,
    dropout: f64,
}

impl Mlp {
    /// `depth` hidden layers of 512 units. Dropout, when on, goes before every linear layer
    /// but the last (so the first is applied to the input pixels).
    pub fn new(p: &nn::Path, cfg: &Config, depth: usize) -> Self {
        let d_in = cfg.in_channels * cfg.image_size * cfg.image_size;
        let mut hidden = Vec::with_capacity(depth);
        let mut d = d_in;
        for i in 0..depth {
            hidden.push(nn::linear(
                p / format!("fc{}", i + 1),
                d,
                512,
                Default::default(),
            ));
            d = 512;
        }
        let out = nn::linear(p / "out", d, cfg.classes, Default::default());
        Mlp {
            hidden,
            out,
            dropout: cfg.dropout,
        }
    }
}

impl Mlp {
    /// The linear layers in order, the output layer last.
    pub fn layers(&self) -> impl Iterator<Item = &nn::Linear> {
        self.hidden.iter().chain(std::iter::once(&self.out))
    }
}

impl super::Model for Mlp {
    fn as_plain_mlp(&self) -> Option<&Mlp> {
        (self.dropout == 0.0 && self.layers().all(|l| l.bs.is_some())).then_some(self)
    }
}

impl ModuleT for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.flatten(1, -1); // [N, C·H·W]
        for layer in &self.hidden {
            x = x.dropout(self.dropout, train).apply(layer).relu_(); // [N, 512]
        }
        x.apply(&self.out) // [N, classes]
    }
}
