//! Images per second of one model's training step (and, for the MLPs, of a CPU-scale epoch),
//! measured the same way as benches/pytorch_baseline.py so that `make bench-compare` can put
//! them side by side. Prints one JSON object.
//!
//! cargo bench --bench throughput -- --model mlp1x512 [--device cpu|cuda] [--steps N]
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

fn sync(d: Device) {
    if let Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
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
    let (c, s) = if kind == ModelKind::Resnet18 {
        (3, 32)
    } else {
        (3, 28)
    };
    let batch = 128i64;
    let steps: usize = arg("--steps")
        .and_then(|v| v.parse().ok())
        .unwrap_or(match kind {
            ModelKind::Mlp1x512 | ModelKind::Mlp3x512 => 200,
            ModelKind::Alexnet => 12,
            _ => 3,
        });
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let m = models::build(&vs.root(), kind, &models::Config::new(c, s, 10)).unwrap();
    let mut opt = train::sgd(&vs, 0.01, 0.9, 0.0).unwrap();
    let x = Tensor::randn([batch, c, s, s], (Kind::Float, device));
    let y = Tensor::randint(10, [batch], (Kind::Int64, device));
    for _ in 0..3 {
        train::sgd_step(m.as_ref(), &mut opt, &x, &y);
    }
    sync(device);
    let t = Instant::now();
    for _ in 0..steps {
        train::sgd_step(m.as_ref(), &mut opt, &x, &y);
    }
    sync(device);
    let step_ips = (steps as f64 * batch as f64) / t.elapsed().as_secs_f64();

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
                train::sgd_step(
                    m.as_ref(),
                    &mut opt,
                    &xs.index_select(0, &idx),
                    &ys.index_select(0, &idx),
                );
                at += len;
            }
            let _ = train::evaluate(m.as_ref(), &xs, &ys);
            sync(device);
            if e >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        epoch_ms = Some(times[times.len() / 2]);
        let a = Tensor::randn([2048, 2048], (Kind::Float, device));
        let _ = a.matmul(&a);
        sync(device);
        let t = Instant::now();
        for _ in 0..10 {
            let _ = a.matmul(&a);
        }
        sync(device);
        gemm_gflops = Some(10.0 * 2.0 * 2048f64.powi(3) / t.elapsed().as_secs_f64() / 1e9);
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
            "device": train::device_name(device),
            "threads": tch::get_num_threads(),
            "params": params,
            "train_images_per_s": step_ips,
            "epoch_ms": epoch_ms,
            "gemm_gflops": gemm_gflops,
        })
    );
}
