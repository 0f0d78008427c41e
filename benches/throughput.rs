//! Images per second of one model's training step (and, for the MLPs, of a CPU-scale epoch),
//! measured the same way as benches/pytorch_baseline.py so that `make bench-compare` can put
//! them side by side. Prints one JSON object.
//!
//! cargo bench --bench throughput -- --model mlp1x512 [--device cpu|cuda] [--steps N]
//!     [--engine autograd]   (the autograd step even where the engine has a fused one)
//!     [--sgd per-tensor|flat] (the autograd SGD's layout; flat by default)
//!     [--channels-last]     (conv weights and inputs in NHWC layout)
//!     [--amp]               (CUDA: fp16 autocast with dynamic loss scaling)
//!     [--shape CxS]         (input channels and side; default 3x32 for ResNet18, else 3x28)
//!     [--batch N]           (default 128)
//!     [--warmup-s S]        (untimed steps for at least S seconds before the first window,
//!                            after 3 steps: a GPU's clock ramps up; default 0)
//!     [--windows W]         (timed windows; default 7)
use rethink::models::{self, ModelKind};
use rethink::train;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn sync(d: Device) {
    if let Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; only our own flags matter.
    let Some(model) = arg("--model") else {
        eprintln!(
            "usage: cargo bench --bench throughput -- --model NAME [--device cpu|cuda] [--steps N]"
        );
        return;
    };
    let kind: ModelKind = model.parse().expect("a model name");
    let device = match arg("--device").as_deref() {
        Some("cuda") => Device::Cuda(0),
        _ => Device::Cpu,
    };
    if device != Device::Cpu {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let (c, s) = match arg("--shape") {
        Some(v) => {
            let (c, s) = v.split_once('x').expect("--shape CxS, for example 1x28");
            (
                c.parse::<i64>().expect("--shape channels"),
                s.parse::<i64>().expect("--shape side"),
            )
        }
        None if kind == ModelKind::Resnet18 => (3, 32),
        None => (3, 28),
    };
    let batch: i64 = arg("--batch").map_or(128, |v| v.parse().expect("--batch N"));
    // The step rate is the median over timed windows of `per` steps, which shrugs off the
    // bursts of noise a shared machine has; `--steps` sets `per`.
    let (windows, per) = match kind {
        ModelKind::Mlp1x512 | ModelKind::Mlp3x512 => (7, 50),
        ModelKind::Alexnet => (7, 2),
        _ => (7, 1),
    };
    let per: usize = arg("--steps").and_then(|v| v.parse().ok()).unwrap_or(per);
    let windows: usize = arg("--windows").map_or(windows, |v| v.parse().expect("--windows W"));
    let warmup_s: f64 = arg("--warmup-s").map_or(0.0, |v| v.parse().expect("--warmup-s S"));
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let m = models::build(&vs.root(), kind, &models::Config::new(c, s, 10)).unwrap();
    // --channels-last: the conv weights and the batch in NHWC layout, as `run --channels-last`.
    let cl = flag("--channels-last");
    if cl {
        models::use_channels_last(&vs);
    }
    let amp = flag("--amp");
    let layout: Option<train::sgd::Layout> = arg("--sgd").map(|v| v.parse().expect("--sgd"));
    let autograd = arg("--engine").as_deref() == Some("autograd") || m.as_plain_mlp().is_none();
    let mut opt = if amp {
        train::Optimizer::amp(&vs, 0.01, 0.9, 0.0)
    } else if autograd {
        let layout = layout.unwrap_or(train::sgd::Layout::DEFAULT);
        train::Optimizer::autograd_with(&vs, 0.01, 0.9, 0.0, layout)
    } else {
        train::Optimizer::sgd(m.as_ref(), &vs, 0.01, 0.9, 0.0)
    }
    .unwrap();
    let x = Tensor::randn([batch, c, s, s], (Kind::Float, device));
    let x = if cl { models::channels_last(&x) } else { x };
    let y = Tensor::randint(10, [batch], (Kind::Int64, device));
    for _ in 0..3 {
        opt.step(m.as_ref(), &x, &y);
    }
    let warm = Instant::now();
    while warm.elapsed().as_secs_f64() < warmup_s {
        opt.step(m.as_ref(), &x, &y);
        sync(device);
    }
    let mut rates = Vec::new();
    for _ in 0..windows {
        sync(device);
        let t = Instant::now();
        for _ in 0..per {
            opt.step(m.as_ref(), &x, &y);
        }
        sync(device);
        rates.push((per as f64 * batch as f64) / t.elapsed().as_secs_f64());
    }
    let step_ips_best = rates.iter().cloned().fold(0.0, f64::max);
    let step_ips = median(rates);

    // A CPU-scale epoch for the MLPs: 1,000 images in batches of 128 (the last one partial),
    // then an eval pass over them, data resident on the device; and the GEMM floor.
    let mut epoch_ms = None;
    let mut gemm_gflops = None;
    if matches!(kind, ModelKind::Mlp1x512 | ModelKind::Mlp3x512) {
        let n = 1000i64;
        let xs = Tensor::randn([n, c, s, s], (Kind::Float, device));
        let ys = Tensor::randint(10, [n], (Kind::Int64, device));
        let mut times = Vec::new();
        for e in 0..12 {
            let t = Instant::now();
            let perm = Tensor::randperm(n, (Kind::Int64, device));
            let mut at = 0;
            while at < n {
                let len = batch.min(n - at);
                let idx = perm.narrow(0, at, len);
                opt.step(
                    m.as_ref(),
                    &xs.index_select(0, &idx),
                    &ys.index_select(0, &idx),
                );
                at += len;
            }
            let _ = train::evaluate(m.as_ref(), &xs, &ys).expect("evaluation");
            sync(device);
            if e >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        epoch_ms = Some(median(times));
        let a = Tensor::randn([2048, 2048], (Kind::Float, device));
        let _ = a.matmul(&a);
        let mut rates = Vec::new();
        for _ in 0..7 {
            sync(device);
            let t = Instant::now();
            let _ = a.matmul(&a);
            sync(device);
            rates.push(2.0 * 2048f64.powi(3) / t.elapsed().as_secs_f64() / 1e9);
        }
        gemm_gflops = Some(median(rates));
    }
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "impl": "rethink",
            "model": kind.name(),
            "engine": opt.name(),
            "sgd": opt.layout(),
            "channels_last": cl,
            "shape": format!("{c}x{s}"),
            "batch": batch,
            "window_steps": per,
            "windows": windows,
            "device": train::device_name(device),
            "threads": tch::get_num_threads(),
            "params": params,
            "param_tensors": vs.trainable_variables().len(),
            "train_images_per_s": step_ips,
            "train_images_per_s_best": step_ips_best,
            "epoch_ms": epoch_ms,
            "gemm_gflops": gemm_gflops,
        })
    );
}
