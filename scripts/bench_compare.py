#!/usr/bin/env python3
"""`make bench-compare`: rethink (tch) against PyTorch eager on the same libtorch, per model.

Both sides run in this one invocation, interleaved (ours, theirs, ours, ...), each
measurement in a fresh process, and the table reports the median of the repetitions.
Usage: scripts/bench_compare.py [--reps 5] [--device cpu|cuda] [--models mlp1x512,...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP_EPOCH_GFLOP = {
    # train (forward + backward = 3x forward) plus an eval forward over 1,000 3x28x28 images:
    # 4 passes x 2 FLOP per multiply-add x parameters (weights) x 1,000 images.
    "mlp1x512": 4 * 2 * (2352 * 512 + 512 * 10) * 1000 / 1e9,
    "mlp3x512": 4 * 2 * (2352 * 512 + 2 * 512 * 512 + 512 * 10) * 1000 / 1e9,
}


def run(cmd, env=None):
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="mlp1x512,mlp3x512,alexnet,inception,resnet18")
    ap.add_argument("--ours", default=os.path.join(ROOT, "target/release/deps/throughput"))
    a = ap.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, ".libtorch") + os.pathsep + env.get("PYTHONPATH", "")
    ours_bin = a.ours
    rows = []
    for model in a.models.split(","):
        ours, theirs = [], []
        for _ in range(a.reps):
            ours.append(run([ours_bin, "--model", model, "--device", a.device]))
            theirs.append(run([sys.executable, "benches/pytorch_baseline.py", "--model", model, "--device", a.device], env))
        med = lambda xs, k: statistics.median(x[k] for x in xs) if xs[0][k] is not None else None
        o, t = med(ours, "train_images_per_s"), med(theirs, "train_images_per_s")
        row = {"model": model, "ours_images_per_s": o, "pytorch_images_per_s": t, "ratio": o / t}
        if model in MLP_EPOCH_GFLOP:
            oe, te = med(ours, "epoch_ms"), med(theirs, "epoch_ms")
            gemm = statistics.median([x["gemm_gflops"] for x in ours + theirs])
            floor_ms = MLP_EPOCH_GFLOP[model] / gemm * 1e3
            row.update({"ours_epoch_ms": oe, "pytorch_epoch_ms": te, "gemm_gflops": gemm,
                        "floor_ms": floor_ms, "ours_fraction_of_floor": floor_ms / oe})
        rows.append(row)
        print(f"\n{model} ({a.device}, threads {ours[0]['threads']}, median of {a.reps}, interleaved)")
        print(f"  train step images/s: rethink {o:9.1f}   pytorch eager {t:9.1f}   ratio {o / t:5.2f}")
        if "floor_ms" in row:
            print(f"  epoch (1,000 train + eval): rethink {row['ours_epoch_ms']:.2f} ms, pytorch {row['pytorch_epoch_ms']:.2f} ms; "
                  f"GEMM {row['gemm_gflops']:.0f} GFLOP/s -> floor {row['floor_ms']:.2f} ms; rethink at {100 * row['ours_fraction_of_floor']:.0f}% of the floor")
    print("\n" + json.dumps(rows))


if __name__ == "__main__":
    main()
