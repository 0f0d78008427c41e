//! Criterion benchmarks: one SGD step and one eval pass per model at batch 128, on CPU and
//! (when libtorch sees one) CUDA, plus the data pipeline and the randomizations.
//! Throughput is in images. See benches/README.md for the comparison with PyTorch eager.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rethink::data::{transform, Split};
use rethink::models::{self, ModelKind};
use rethink::randomize::{self, Randomization};
use rethink::train;
use std::time::Duration;
use tch::{nn, Device, Kind, Tensor};

const BATCH: i64 = 128;

/// The paper's input shape for each model: 3×28×28, and 3×32×32 for ResNet18-CIFAR.
fn shape(kind: ModelKind) -> (i64, i64) {
    if kind == ModelKind::Resnet18 {
        (3, 32)
    } else {
        (3, 28)
    }
}

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        tch::Cuda::cudnn_set_benchmark(true);
        d.push(Device::Cuda(0));
    }
    d
}

fn sync(d: Device) {
    if let Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
}

fn bench_models(c: &mut Criterion) {
    for device in devices() {
        let mut g = c.benchmark_group(format!("model/{}", train::device_name(device)));
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(8));
        for &kind in ModelKind::all() {
            tch::manual_seed(0);
            let (ch, s) = shape(kind);
            let vs = nn::VarStore::new(device);
            let m = models::build(&vs.root(), kind, &models::Config::new(ch, s, 10)).unwrap();
            let x = Tensor::randn([BATCH, ch, s, s], (Kind::Float, device));
            let y = Tensor::randint(10, [BATCH], (Kind::Int64, device));
            // The engine's step (fused for the MLPs) and, where that differs, autograd's.
            let mut opts = vec![train::Optimizer::sgd(m.as_ref(), &vs, 0.01, 0.9, 0.0).unwrap()];
            if opts[0].name() != "autograd" {
                opts.push(train::Optimizer::autograd(&vs, 0.01, 0.9, 0.0).unwrap());
            }
            for mut opt in opts {
                let name = match opt.name() {
                    "autograd" if kind.name().starts_with("mlp") => "train_step_autograd",
                    _ => "train_step",
                };
                g.bench_function(BenchmarkId::new(name, kind.name()), |b| {
                    b.iter(|| {
                        opt.step(m.as_ref(), &x, &y);
                        sync(device);
                    })
                });
            }
            g.bench_function(BenchmarkId::new("eval", kind.name()), |b| {
                b.iter(|| {
                    let (loss, _, _) = train::evaluate(m.as_ref(), &x, &y).expect("evaluation");
                    sync(device);
                    loss
                })
            });
        }
        g.finish();
    }
}

fn bench_data(c: &mut Criterion) {
    let mut g = c.benchmark_group("data/cpu");
    g.throughput(Throughput::Elements(BATCH as u64));
    let cifar = Tensor::rand([10_000, 3, 32, 32], (Kind::Float, Device::Cpu));
    let idx = Tensor::randint(10_000, [BATCH], (Kind::Int64, Device::Cpu));
    g.bench_function("batch_gather", |b| b.iter(|| cifar.index_select(0, &idx)));
    let batch = cifar.index_select(0, &idx);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    g.bench_function("random_crop_flip_32_to_28", |b| {
        b.iter(|| transform::random_crop_flip(&batch, 28, 0, &mut rng))
    });
    let cropped = transform::center_crop(&batch, 28);
    g.bench_function("whiten", |b| b.iter(|| transform::whiten(&cropped)));
    g.finish();

    let mut g = c.benchmark_group("randomize/cpu");
    let n = 1000i64;
    let split = Split {
        images: Tensor::rand([n, 1, 28, 28], (Kind::Float, Device::Cpu)),
        labels: Tensor::randint(10, [n], (Kind::Int64, Device::Cpu)),
    };
    g.throughput(Throughput::Elements(n as u64));
    for r in [
        Randomization::RandomLabels,
        Randomization::ShuffledPixels,
        Randomization::RandomPixels,
        Randomization::Gaussian,
    ] {
        g.bench_function(r.to_string(), |b| {
            b.iter(|| randomize::apply(&split, &split, r, 10, 0).unwrap())
        });
    }
    g.finish();
}

// No plots: criterion's plotters backend needs a system font, which CI machines and this
// project's build machine lack (it panics with FontUnavailable); the numbers are all printed.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_models, bench_data
}
criterion_main!(benches);
